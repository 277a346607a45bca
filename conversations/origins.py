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
    allowed = {*settings.CHARLA_ALLOWED_ORIGINS, *bot_origins}
    return "*" in allowed or origin.rstrip("/") in {item.rstrip("/") for item in allowed}
