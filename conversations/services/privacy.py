"""Forgetting: transcripts past their retention age, and everything about a visitor who asks."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Conversation, Message, Visitor
from .publish import session_end_publish


@dataclass(frozen=True)
class Deletion:
    visitors: int
    conversations: int
    messages: int


def visitor_data_delete(*, visitor_id: uuid.UUID) -> Deletion:
    """Delete the visitor, their conversations and messages. Redis holds nothing to delete: the channel layer
    is pub/sub, so no key names a conversation.

    A logged-in visitor's user account stays (it is not chat data); its chat history goes. Open sockets are told
    the session ended. Tasks still queued for deleted messages find nothing and do nothing.
    """
    conversation_ids = list(Conversation.objects.filter(visitor_id=visitor_id).values_list("pk", flat=True))
    return _delete(conversation_ids=conversation_ids, visitor_ids=[visitor_id], reason="deleted")


def conversations_purge_expired(*, now: datetime | None = None) -> Deletion:
    """Delete transcripts untouched for CHARLA_RETENTION_DAYS, and anonymous visitors left with none."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHARLA_RETENTION_DAYS)
    conversation_ids = list(Conversation.objects.filter(updated_at__lt=cutoff).values_list("pk", flat=True))
    orphans = list(
        Visitor.objects.filter(user__isnull=True, created_at__lt=cutoff)
        .exclude(conversations__updated_at__gte=cutoff)
        .values_list("pk", flat=True)
    )
    return _delete(conversation_ids=conversation_ids, visitor_ids=orphans, reason="expired")


def _delete(*, conversation_ids: list[uuid.UUID], visitor_ids: list[uuid.UUID], reason: str) -> Deletion:
    with transaction.atomic():
        messages = Message.objects.filter(conversation_id__in=conversation_ids).count()
        # Replies reference their message (reply_to): the whole set goes in one DELETE per table.
        Message.objects.filter(conversation_id__in=conversation_ids).delete()
        conversations, _ = Conversation.objects.filter(pk__in=conversation_ids).delete()
        visitors, _ = Visitor.objects.filter(pk__in=visitor_ids).delete()
    for conversation_id in conversation_ids:
        session_end_publish(conversation_id=conversation_id, reason=reason)
    return Deletion(visitors=visitors, conversations=conversations, messages=messages)
