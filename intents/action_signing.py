"""How an action call is signed, for Charla (signing) and for a backend in Python (verifying), docs/actions.md.

The signature is HMAC-SHA256 under the bot's shared secret over `<timestamp>.<raw body>`; the timestamp travels
in its own header, so a captured request cannot be replayed later with a fresh timestamp. No Django here: a
customer's backend can copy this module as it is.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Charla-Signature"
TIMESTAMP_HEADER = "X-Charla-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request is not signed with the secret, or its timestamp is missing or too far from now."""


def action_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-Charla-Signature: "sha256=" and the hex HMAC of "<timestamp>." + body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def action_signature_verify(
    *, secret: str, signature: str | None, timestamp: str | None, body: bytes,
    now: float | None = None, tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise SignatureError unless `signature` signs `body` at `timestamp`, within `tolerance` seconds of now."""
    if not secret:
        raise SignatureError("no secret is configured")
    if not signature or not timestamp or not timestamp.isdigit():
        raise SignatureError(f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
    if abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {tolerance} seconds from now")
    expected = action_signature(secret=secret, timestamp=int(timestamp), body=body)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("the signature does not match the body")
