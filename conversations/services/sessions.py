"""Visitors and their sessions: which conversation a socket talks in, and when a conversation ends."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intents.models import Bot

from ..models import Conversation, Visitor
from ..tokens import visitor_token_make, visitor_token_read
from .publish import handoff_publish


@dataclass(frozen=True)
class Session:
    conversation_id: uuid.UUID
    group_name: str
    token: str
    last_seq: int
    visitor_id: uuid.UUID
    handoff: str = Conversation.Handoff.NONE  # when it was opened; a socket follows its `handoff` events after


def visitor_resolve(
    *, user_id: int | None, token: str | None, bot: Bot | None = None, sender: str | None = None
) -> Visitor:
    """A REST client's sender: the bot's visitor with that sender, created on first use. Else a logged-in user's
    own visitor; else the one a valid token names; else a new anonymous one."""
    if sender is not None:
        return _sender_visitor(bot=bot, sender=sender)
    if user_id is not None:
        visitor, _ = Visitor.objects.get_or_create(user_id=user_id)
        return visitor
    visitor_id = visitor_token_read(token=token) if token else None
    if visitor_id is not None:
        visitor = Visitor.objects.filter(pk=visitor_id, user__isnull=True).first()
        if visitor is not None:
            return visitor
    return Visitor.objects.create()


def _sender_visitor(*, bot: Bot | None, sender: str) -> Visitor:
    visitor = Visitor.objects.filter(bot=bot, sender=sender).first()
    if visitor is not None:
        return visitor
    try:
        with transaction.atomic():
            return Visitor.objects.create(bot=bot, sender=sender)
    except IntegrityError:  # a concurrent first message of the same sender created it
        return Visitor.objects.get(bot=bot, sender=sender)


def session_open(
    *, bot: Bot, user_id: int | None, token: str | None, language: str | None, sender: str | None = None
) -> Session:
    """The visitor's active conversation with the bot (a new one when there is none, or it was idle too long).
    `sender` names a REST channel client's visitor instead of a user or token."""
    visitor = visitor_resolve(user_id=user_id, token=token, bot=bot, sender=sender)
    if language not in bot.languages:
        language = bot.default_language
    with transaction.atomic():
        conversation = Conversation.objects.filter(bot=bot, visitor=visitor, status=Conversation.Status.ACTIVE).first()
        if conversation is not None and conversation_is_idle(conversation=conversation, now=timezone.now()):
            conversation_close(conversation_id=conversation.id)
            conversation = None
        if conversation is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(bot=bot, visitor=visitor, language=language)
            except IntegrityError:  # another tab of the same visitor started it first
                conversation = Conversation.objects.get(bot=bot, visitor=visitor, status=Conversation.Status.ACTIVE)
    return Session(
        conversation_id=conversation.id,
        group_name=conversation.group_name,
        token=visitor_token_make(visitor_id=visitor.id),
        last_seq=conversation.last_seq,
        visitor_id=visitor.id,
        handoff=conversation.handoff,
    )


def conversation_is_idle(*, conversation: Conversation, now: datetime) -> bool:
    return conversation.updated_at < now - timedelta(minutes=settings.CHARLA_SESSION_IDLE_MINUTES)


def conversation_close(*, conversation_id: uuid.UUID) -> bool:
    """End an active conversation; its history stays. False when it was closed already. Takes the row lock."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            return False
        was_handed_off = conversation.handoff != Conversation.Handoff.NONE
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = timezone.now()
        conversation.handoff = Conversation.Handoff.NONE
        conversation.agent = None
        conversation.save(update_fields=["status", "closed_at", "handoff", "agent", "updated_at"])
        if was_handed_off:
            transaction.on_commit(partial(handoff_publish, conversation_id=conversation.id, state="none", agent=None))
    return True


def conversations_close_idle(*, now: datetime | None = None) -> int:
    """Close every active conversation idle longer than CHARLA_SESSION_IDLE_MINUTES; how many were closed."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.CHARLA_SESSION_IDLE_MINUTES)
    idle = Conversation.objects.filter(status=Conversation.Status.ACTIVE, updated_at__lt=cutoff)
    return sum(conversation_close(conversation_id=pk) for pk in idle.values_list("pk", flat=True))
