from typing import Any

from .models import Message


def message_payload(message: Message) -> dict[str, Any]:
    """A stored message in the protocol's `message` frame shape (docs/protocol.md)."""
    payload: dict[str, Any] = {"type": "message", "seq": message.seq, "role": message.role, "text": message.text}
    if message.role == Message.Role.BOT:
        payload["reply_to"] = message.reply_to.seq if message.reply_to_id else None
        payload["intent"] = message.intent
        payload["confidence"] = message.confidence
    else:
        payload["client_id"] = message.client_id
    if message.language:
        payload["language"] = message.language
    return payload


def messages_after(*, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
    """Every stored message of the conversation with seq > after_seq, in order, as protocol frames."""
    messages = (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .select_related("reply_to")
        .order_by("seq")
    )
    return [message_payload(message) for message in messages]
