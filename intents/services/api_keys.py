"""Per-bot API keys: created with the full key shown once, checked by hash, revoked for good."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from ..models import ApiKey, Bot

KEY_PREFIX = "ck_"  # tells an API key from a staff token at a glance (and in ApiKeyAuthentication)
VISIBLE_CHARS = 11  # "ck_" and 8 random characters: enough to tell keys apart in the admin, too few to guess
LAST_USED_RESOLUTION = timedelta(minutes=1)  # a busy key writes its last use once a minute, not per request


def _hash(raw: str) -> str:
    """A plain SHA-256: keys are 240 random bits, so a slow password hash would buy nothing but latency."""
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(*, bot: Bot, name: str, created_by_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key for the bot; (row, full key). The full key is not stored and cannot be shown again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(30)
    key = ApiKey.objects.create(
        bot=bot, name=name, prefix=raw[:VISIBLE_CHARS], key_hash=_hash(raw), created_by_id=created_by_id
    )
    return key, raw


def api_key_check(*, raw: str) -> ApiKey | None:
    """The key (with its bot) whose hash matches, revoked or not; None for an unknown key. Stamps its last use."""
    key = ApiKey.objects.select_related("bot").filter(key_hash=_hash(raw)).first()
    if key is None or key.revoked:
        return key
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_revoke(*, key: ApiKey) -> None:
    """The key stops working at its next request. Revoking twice keeps the first time."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
