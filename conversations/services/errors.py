class MessageRejected(ValueError):
    """A frame or message the protocol refuses; nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConversationClosed(RuntimeError):
    """The conversation ended (inactivity, or deleted); the visitor continues in a new one."""


class QueueBusy(RuntimeError):
    """Load shedding: the message needs an answer and the answer queue is past capacity; nothing was stored."""
