class MessageRejected(ValueError):
    """A frame or message the protocol refuses; nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EarlierTurnPending(RuntimeError):
    """An earlier user message of the conversation is not answered yet; dialogue steps run in seq order."""


class ConversationClosed(RuntimeError):
    """The conversation ended (inactivity, or deleted); the visitor continues in a new one."""
