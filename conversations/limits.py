"""The chat sockets' rate limits (README: Rate limits): messages per visitor, new visitors per client IP.

Each check is one `chatbot.ratelimit.rate_hit` (a few Redis round trips) run on a worker thread, so a socket
waiting for Redis does not hold the event loop that serves every other socket.
"""

import uuid

from asgiref.sync import sync_to_async
from django.conf import settings

from chatbot.ratelimit import rate_hit, rate_parse, scope_client_ip

from .tokens import visitor_token_read

_hit = sync_to_async(rate_hit, thread_sensitive=False)


async def new_visitor_wait(*, scope: dict, user_id: int | None, token: str | None) -> int | None:
    """Seconds this connection must wait before it may create a visitor, or None: it may (or creates none).

    A logged-in user or a valid visitor token returns to an existing visitor, which is never limited here.
    """
    if user_id is not None or (token and visitor_token_read(token=token) is not None):
        return None
    rate = rate_parse(settings.CHARLA_RATE_CHAT_VISITORS)
    return await _hit(scope="chat.visitors", ident=scope_client_ip(scope), rate=rate)


async def message_wait(*, visitor_id: uuid.UUID) -> int | None:
    """Seconds before this visitor may send another message, or None: this one may be stored."""
    return await _hit(scope="chat.messages", ident=str(visitor_id), rate=rate_parse(settings.CHARLA_RATE_CHAT_MESSAGES))
