"""A person takes a conversation over from the bot, writes to the visitor, and gives it back."""

import uuid
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from ..models import Conversation, Message
from .errors import MessageRejected
from .publish import agent_message_publish, handoff_publish
from .rules import message_validate, next_seq

AGENT_CLIENT_PREFIX = "agent:"  # agents' client_ids share the conversation's unique index with the visitor's


def handoff_request(*, conversation: Conversation) -> None:
    """The visitor asked for a person: the conversation joins the console's queue. Runs inside the row lock."""
    if conversation.handoff != Conversation.Handoff.NONE:
        return
    conversation.handoff = Conversation.Handoff.REQUESTED
    conversation.save(update_fields=["handoff", "updated_at"])
    transaction.on_commit(partial(handoff_publish, conversation_id=conversation.id, state="requested", agent=None))


def handoff_take(*, conversation_id: uuid.UUID, agent_id: int) -> Conversation:
    """`agent_id` answers from now on and the bot stays silent. Refused when another person holds it."""
    with transaction.atomic():
        conversation = _locked_unless_taken(conversation_id, agent_id)
        conversation.handoff = Conversation.Handoff.ACTIVE
        conversation.agent_id = agent_id
        conversation.save(update_fields=["handoff", "agent", "updated_at"])
        name = _agent_name(agent_id)
        transaction.on_commit(partial(handoff_publish, conversation_id=conversation.id, state="active", agent=name))
    return conversation


def handoff_release(*, conversation_id: uuid.UUID, agent_id: int) -> Conversation:
    """The bot answers again, starting from a clean fallback count."""
    with transaction.atomic():
        conversation = _locked_unless_taken(conversation_id, agent_id)
        conversation.handoff = Conversation.Handoff.NONE
        conversation.agent = None
        conversation.state = {**conversation.state, "fallbacks_in_row": 0}
        conversation.save(update_fields=["handoff", "agent", "state", "updated_at"])
        transaction.on_commit(partial(handoff_publish, conversation_id=conversation.id, state="none", agent=None))
    return conversation


def agent_message_send(*, conversation_id: uuid.UUID, agent_id: int, text: Any, client_id: Any) -> tuple[Message, bool]:
    """Store a staff member's message (once per client_id) and push it to the visitor; (message, created)."""
    text, client_id = message_validate(
        text=text, client_id=client_id, max_client_id=100 - len(AGENT_CLIENT_PREFIX)
    )
    stored_id = AGENT_CLIENT_PREFIX + client_id
    with transaction.atomic():
        conversation = _locked_open(conversation_id)
        existing = Message.objects.filter(conversation=conversation, client_id=stored_id).first()
        if existing is not None:
            return existing, False
        if conversation.handoff != Conversation.Handoff.ACTIVE or conversation.agent_id != agent_id:
            raise MessageRejected("not_taken", "Take the conversation over before writing in it.")
        message = Message.objects.create(
            conversation=conversation, bot_id=conversation.bot_id, seq=next_seq(conversation), role=Message.Role.AGENT,
            text=text, client_id=stored_id, agent_id=agent_id, status=Message.Status.SENT,
            language=conversation.language,
        )
        conversation.save(update_fields=["last_seq", "updated_at"])
        transaction.on_commit(partial(agent_message_publish, message=message))
    return message, True


def _locked_open(conversation_id: Any) -> Conversation:
    try:
        uuid.UUID(str(conversation_id))
    except ValueError:
        raise MessageRejected("unknown_conversation", "No such conversation.") from None
    conversation = (
        Conversation.objects.select_for_update()
        .filter(Q(pk=conversation_id), status=Conversation.Status.ACTIVE)
        .first()
    )
    if conversation is None:
        raise MessageRejected("unknown_conversation", "No such open conversation.")
    return conversation


def _locked_unless_taken(conversation_id: uuid.UUID, agent_id: int) -> Conversation:
    """The open conversation, locked; refused when another staff member holds it."""
    conversation = _locked_open(conversation_id)
    if conversation.handoff == Conversation.Handoff.ACTIVE and conversation.agent_id != agent_id:
        raise MessageRejected("taken", "Another staff member has taken this conversation.")
    return conversation


def _agent_name(agent_id: int) -> str:
    user = get_user_model().objects.get(pk=agent_id)
    return user.get_short_name() or user.get_username()
