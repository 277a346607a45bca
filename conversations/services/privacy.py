"""Forgetting: transcripts past their retention age, and everything about a visitor who asks."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
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
    redis_keys: int


def visitor_data_delete(*, visitor_id: uuid.UUID) -> Deletion:
    """Delete the visitor, their conversations and messages, and the Redis keys naming those conversations.

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
    keys = _redis_forget(conversation_ids=conversation_ids)
    return Deletion(visitors=visitors, conversations=conversations, messages=messages, redis_keys=keys)


def _redis_forget(*, conversation_ids: list[uuid.UUID]) -> int:
    """Channel-layer group keys are the only Redis keys that name a conversation."""
    layer = settings.CHANNEL_LAYERS["default"]
    if not conversation_ids or not layer["BACKEND"].startswith("channels_redis"):
        return 0
    prefix = layer["CONFIG"].get("prefix", "asgi")
    client = redis.Redis.from_url(layer["CONFIG"]["hosts"][0])
    keys = [
        f"{prefix}:group:{group}.{conversation_id.hex}"
        for conversation_id in conversation_ids
        for group in ("chat", "console")
    ]
    try:
        return sum(client.delete(*keys[i : i + 500]) for i in range(0, len(keys), 500))
    finally:
        client.close()

