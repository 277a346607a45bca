"""Pushes to sockets through the channel layer. Callers run these after commit (transaction.on_commit)."""

import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from ..models import Conversation, Message
from ..selectors import message_payload

CONSOLE_GROUP = "console"  # every open staff console: the handoff queue changed


def _send(group: str, event: dict[str, Any]) -> None:
    async_to_sync(get_channel_layer().group_send)(group, event)


def reply_publish(*, reply: Message, console: bool = False) -> None:
    """Push a stored bot message to every socket of its conversation (and to staff watching it)."""
    payload = message_payload(reply)
    conversation = Conversation(id=reply.conversation_id)
    _send(conversation.group_name, {"type": "bot.reply", "message": payload})
    if console:
        console_message_publish(conversation_id=reply.conversation_id, payload=payload)


def agent_message_publish(*, message: Message) -> None:
    payload = message_payload(message)
    _send(Conversation(id=message.conversation_id).group_name, {"type": "agent.message", "message": payload})
    console_message_publish(conversation_id=message.conversation_id, payload=payload)


def console_message_publish(*, conversation_id: uuid.UUID, payload: dict[str, Any]) -> None:
    group = Conversation(id=conversation_id).console_group_name
    _send(group, {"type": "console.message", "conversation": str(conversation_id), "message": payload})


def handoff_publish(*, conversation_id: uuid.UUID, state: str, agent: str | None) -> None:
    """Tell the visitor's sockets who answers now, and every console that the queue changed."""
    _send(Conversation(id=conversation_id).group_name, {"type": "handoff.changed", "state": state, "agent": agent})
    _send(CONSOLE_GROUP, {"type": "console.queue"})


def session_end_publish(*, conversation_id: uuid.UUID, reason: str) -> None:
    _send(Conversation(id=conversation_id).group_name, {"type": "session.end", "reason": reason})
