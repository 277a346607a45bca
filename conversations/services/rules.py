"""What every stored message obeys, whoever writes it (visitor, REST client or staff member)."""

from typing import Any

from django.conf import settings

from ..models import Conversation
from .errors import MessageRejected


def text_validate(*, text: Any) -> str:
    """The text, stripped; MessageRejected when it is empty, longer than CHARLA_MAX_MESSAGE_CHARS, or holds NUL."""
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected("empty_text", "text must be a non-empty string.")
    limit = settings.CHARLA_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageRejected("text_too_long", f"text is {len(text)} characters; the limit is {limit}.")
    if "\x00" in text:
        raise MessageRejected("invalid_text", "text must not contain NUL characters.")
    return text.strip()


def message_validate(*, text: Any, client_id: Any, max_client_id: int = 100) -> tuple[str, str]:
    if not isinstance(client_id, str) or not 0 < len(client_id) <= max_client_id:
        raise MessageRejected(
            "invalid_client_id", f"client_id must be a non-empty string of at most {max_client_id} characters."
        )
    return text_validate(text=text), client_id


def next_seq(conversation: Conversation) -> int:
    """Hand out the next gapless seq. Runs inside the conversation's row lock."""
    conversation.last_seq += 1
    return conversation.last_seq
