"""The demo restaurant's action endpoint: what a customer's backend does with Charla's signed action calls."""

import json
import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ..action_signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    action_signature_verify,
)
from ..services.demo import demo_booking_create
from . import demo_action_secret

CONFIRMATION = {
    "en": "Booked! A table for {people} on {day} at {time}, reference **{reference}**. "
    "The confirmation goes to {email}.",
    "es": "¡Reservado! Mesa para {people} el {day} a las {time}, referencia **{reference}**. "
    "La confirmación llegará a {email}.",
}
# Bot text is a small markdown subset (docs/protocol.md): a value inserted into it is escaped.
_MARKDOWN_SPECIAL = re.compile(r"([\\*_\[\]()])")


@csrf_exempt  # the HMAC signature authenticates the caller; there is no browser session to protect
def book_table(request: HttpRequest) -> JsonResponse:
    """Store the booking the demo bot's form collected (people, when, email) once per Idempotency-Key and answer
    with a confirmation and its reference (slot `booking_ref`)."""
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    try:
        action_signature_verify(
            secret=demo_action_secret(), signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER), body=request.body,
        )  # fmt: skip
    except SignatureError as error:
        return _error(401, "bad_signature", str(error))
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not 0 < len(key) <= 100:
        return _error(400, "missing_idempotency_key", f"{IDEMPOTENCY_HEADER} is required (at most 100 characters).")
    try:
        payload = json.loads(request.body)
        slots, language = payload["slots"], payload.get("language", "en")
        people, when, email = _slots_validated(slots)
    except (ValueError, KeyError, TypeError) as error:
        return _error(422, "invalid_booking", f"slots people, when and email are required and valid: {error}")
    booking = demo_booking_create(
        idempotency_key=key, people=people, when=when, email=email, language=language,
        conversation_id=payload.get("conversation_id"),
    )  # fmt: skip
    local = timezone.localtime(booking.when)
    text = CONFIRMATION.get(language, CONFIRMATION["en"]).format(
        people=booking.people, day=local.date().isoformat(), time=local.strftime("%H:%M"),
        reference=booking.reference, email=_MARKDOWN_SPECIAL.sub(r"\\\1", booking.email),
    )  # fmt: skip
    return JsonResponse({"text": text, "slots": {"booking_ref": booking.reference}})


def _slots_validated(slots: dict) -> tuple[int, datetime, str]:
    people = int(slots["people"])
    if not 1 <= people <= 50:
        raise ValueError("people must be between 1 and 50")
    when = datetime.fromisoformat(slots["when"])
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    try:
        validate_email(slots["email"])
    except ValidationError as error:
        raise ValueError("email is not an e-mail address") from error
    return people, when, slots["email"]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)
