"""Rows for tests that read stored traffic (the operators' inbox and dashboard) without running the model."""

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from conversations.models import Conversation, Message, Visitor


def conversation(*, bot, language: str = "en", **fields) -> Conversation:
    return Conversation.objects.create(
        bot=bot, visitor=Visitor.objects.create(id=uuid.uuid4()), language=language,
        status=Conversation.Status.CLOSED, **fields,
    )  # fmt: skip


def user_message(
    *, bot, text: str = "something odd", outcome: str = Message.Outcome.FALLBACK, confidence: float = 0.2,
    intent: str = "greet", language: str = "en", at: datetime | None = None, latency: float = 0.5,
    model_version=None, within: Conversation | None = None,
) -> Message:
    """A visitor's message the bot answered `latency` seconds after `at` (default: now), as the answer path
    stores it: with its outcome, prediction and model version; in a conversation of its own started then,
    unless `within` one."""
    owner = within or conversation(bot=bot, language=language)
    owner.last_seq += 2
    owner.save(update_fields=["last_seq"])
    message = Message.objects.create(
        conversation=owner, bot=bot, seq=owner.last_seq - 1, role=Message.Role.USER, text=text, language=language,
        intent=intent, confidence=confidence, outcome=outcome, model_version=model_version,
        status=Message.Status.ANSWERED,
    )  # fmt: skip
    created = at or timezone.now()
    Message.objects.filter(pk=message.pk).update(created_at=created, answered_at=created + timedelta(seconds=latency))
    if within is None:  # its own conversation started with it
        Conversation.objects.filter(pk=owner.pk).update(created_at=created)
    message.refresh_from_db()
    return message
