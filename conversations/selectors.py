import uuid
from typing import Any

from django.db.models import Max

from .models import Conversation, Message, Visitor


def message_payload(message: Message) -> dict[str, Any]:
    """A stored message in the protocol's `message` frame shape (docs/protocol.md)."""
    payload: dict[str, Any] = {"type": "message", "seq": message.seq, "role": message.role, "text": message.text}
    if message.role == Message.Role.BOT:
        payload["reply_to"] = message.reply_to.seq if message.reply_to_id else None
        payload["intent"] = message.intent
        payload["confidence"] = message.confidence
        if message.buttons:
            payload["buttons"] = message.buttons
    elif message.role == Message.Role.AGENT:
        agent = message.agent
        payload["agent_name"] = (agent.get_short_name() or agent.get_username()) if agent else ""
    else:
        payload["client_id"] = message.client_id
    if message.language:
        payload["language"] = message.language
    return payload


def messages_after(*, conversation_id: str, after_seq: int) -> list[dict[str, Any]]:
    """Every stored message of the conversation with seq > after_seq, in order, as protocol frames."""
    messages = (
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .select_related("reply_to", "agent")
        .order_by("seq")
    )
    return [message_payload(message) for message in messages]


def handoff_queue() -> list[dict[str, Any]]:
    """Open conversations waiting for or held by a person, oldest request first, for the staff console."""
    conversations = (
        Conversation.objects.filter(status=Conversation.Status.ACTIVE)
        .exclude(handoff=Conversation.Handoff.NONE)
        .select_related("bot", "visitor__user", "agent")
        .order_by("updated_at")
    )
    return [
        {
            "conversation": str(c.id),
            "bot": c.bot.slug,
            "visitor": str(c.visitor),
            "language": c.language,
            "handoff": c.handoff,
            "agent": (c.agent.get_short_name() or c.agent.get_username()) if c.agent else None,
            "last_seq": c.last_seq,
            "updated_at": c.updated_at.isoformat(),
        }
        for c in conversations
    ]


def visitor_exists(*, visitor_id: uuid.UUID) -> bool:
    return Visitor.objects.filter(pk=visitor_id).exists()


def message_outcome(*, message_id: int) -> tuple[str, dict[str, Any] | None]:
    """A user message's status and, once answered, its reply as a protocol frame."""
    message = Message.objects.select_related("reply__reply_to").filter(pk=message_id).first()
    if message is None:
        return "deleted", None
    reply = getattr(message, "reply", None)
    return message.status, message_payload(reply) if reply is not None else None


def agent_messages_before(*, conversation_id: uuid.UUID, seq: int) -> list[dict[str, Any]]:
    """Staff messages written since the visitor's turn before `seq` (what a REST client has not been given yet)."""
    previous = (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.USER, seq__lt=seq)
        .aggregate(seq=Max("seq"))["seq"] or 0
    )
    messages = Message.objects.filter(
        conversation_id=conversation_id, role=Message.Role.AGENT, seq__gt=previous, seq__lt=seq
    ).select_related("agent").order_by("seq")
    return [message_payload(message) for message in messages]


def sender_handed_off(*, bot_id: int, sender: str) -> bool:
    """Whether a person has (or was asked to take) a REST sender's active conversation with the bot: a post the
    bot need not answer. One indexed read; nothing is created for a sender not seen before."""
    return (
        Conversation.objects.filter(bot_id=bot_id, visitor__bot_id=bot_id, visitor__sender=sender,
                                    status=Conversation.Status.ACTIVE)
        .exclude(handoff=Conversation.Handoff.NONE).exists()
    )  # fmt: skip


def sender_messages(*, bot_id: int, sender: str, after_seq: int) -> tuple[uuid.UUID | None, list[dict[str, Any]]]:
    """A REST sender's latest conversation with the bot and its messages after `after_seq`, as protocol frames."""
    conversation = (
        Conversation.objects.filter(bot_id=bot_id, visitor__bot_id=bot_id, visitor__sender=sender)
        .order_by("-created_at").values_list("pk", flat=True).first()
    )
    if conversation is None:
        return None, []
    return conversation, messages_after(conversation_id=conversation, after_seq=after_seq)
