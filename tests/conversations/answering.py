"""Answering stored messages in the test process through the answer path's own batch function, as answer_worker
does with what it reads from the stream (the test stands in for the transport, not for the answering)."""

from conversations.inference import Entry, Turn
from conversations.models import Message
from conversations.services import messages_answer_batch


def entries_for(messages: list[Message]) -> list[Entry]:
    return [Entry(id=f"0-{m.pk}", turn=Turn(message_id=m.pk, conversation_id=str(m.conversation_id),
                                            bot_id=m.bot_id, text=m.text),
                  timings={"received": 1.0}) for m in messages]  # fmt: skip


def answer(message: Message) -> Message | None:
    """Answer one stored message (a batch of one); its reply, or None when it got none (yet)."""
    messages_answer_batch(entries=entries_for([message]))
    return Message.objects.filter(reply_to=message).first()
