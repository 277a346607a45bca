"""Who may frame Charla's pages: the embed page only by its bot's configured origins, every other page by nobody."""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .origins import configured_origins

CSP = "Content-Security-Policy"
# A scheme://host[:port] origin and nothing else: a stray ';' or space in a bot's settings must not add a directive.
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
# The chat needs only its own scripts, styles and socket: injected markup could run nothing even if it got in.
_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def frame_ancestors(*, bot_origins: list[str]) -> str:
    """The frame-ancestors source list for a bot's embed page; 'none' when no origin is configured."""
    origins = configured_origins(bot_origins=bot_origins)
    if "*" in origins:
        return "*"
    valid = sorted(origin for origin in origins if _ORIGIN.match(origin))
    return " ".join(valid) or "'none'"


def chat_page_policy(*, frame_ancestors: str = "'none'") -> str:
    return f"{_PAGE_POLICY}; frame-ancestors {frame_ancestors}"


class FrameDenyMiddleware:
    """Adds `frame-ancestors 'none'` to every response that sets no policy of its own (admin, static, errors).

    X-Frame-Options: DENY (Django's clickjacking middleware) covers old browsers; CSP is what current ones obey
    and what lets the embed page name its allowed origins.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP not in response.headers:
            response.headers[CSP] = "frame-ancestors 'none'"
        return response
