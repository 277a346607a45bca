"""Which browser origins may open a chat socket."""

from collections.abc import Iterable

from django.conf import settings


def origin_allowed(*, headers: Iterable[tuple[bytes, bytes]], bot_origins: list[str]) -> bool:
    """Allowed when the Origin is configured globally or for the bot.

    Browsers always send Origin on a WebSocket handshake, so cross-site hijacking is refused; a client
    that sends none (a script, the benchmark) is not a browser acting for a visitor and is let in.
    """
    origin = next((value.decode("latin-1") for name, value in headers if name == b"origin"), None)
    if origin is None:
        return True
    allowed = configured_origins(bot_origins=bot_origins)
    return "*" in allowed or origin.rstrip("/") in allowed


def configured_origins(*, bot_origins: list[str]) -> set[str]:
    """The origins that may talk to a bot: those allowed for every bot plus the bot's own.

    One set for the socket handshake and the embed page's frame-ancestors, so a site that may frame the chat
    may also open its socket, and no other.
    """
    return {item.rstrip("/") for item in (*settings.CHARLA_ALLOWED_ORIGINS, *bot_origins) if isinstance(item, str)}
