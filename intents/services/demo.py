"""Writes of the demo restaurant's backend (intents/demo/views.py)."""

import secrets
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from ..models import DemoBooking

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread over the phone


def demo_booking_create(
    *, idempotency_key: str, people: int, when: datetime, email: str, language: str, conversation_id: Any = None
) -> DemoBooking:
    """Store a booking once per idempotency key: Charla calls actions at least once, so a repeated call (a
    worker that died after calling) returns the booking made the first time, with its reference."""
    existing = DemoBooking.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return DemoBooking.objects.create(
                reference="CH-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6)),
                idempotency_key=idempotency_key, people=people, when=when, email=email, language=language[:8],
                conversation_id=conversation_id,
            )  # fmt: skip
    except IntegrityError:  # the same key stored by a concurrent call meanwhile
        return DemoBooking.objects.get(idempotency_key=idempotency_key)
