"""Signed visitor tokens: an anonymous visitor proves who they are by presenting one."""

import uuid

from django.conf import settings
from django.core import signing

_SALT = "charla.visitor"


def visitor_token_make(*, visitor_id: uuid.UUID) -> str:
    return signing.dumps(str(visitor_id), salt=_SALT, compress=False)


def visitor_token_read(*, token: str) -> uuid.UUID | None:
    """The visitor id inside a valid token; None for a forged, expired or malformed one."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=settings.CHARLA_VISITOR_TOKEN_MAX_AGE)
        return uuid.UUID(value)
    except (signing.BadSignature, ValueError, TypeError):
        return None
