"""Who may use a bot's API: staff, or a holder of one of that bot's API keys."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import ApiKey
from .selectors import bot_default_slug


def requested_bot_slug(request: Request, view: Any) -> str | None:
    """The bot a request is about: the URL's `<slug>`, else `?bot=`, else the API key's own bot, else the only
    bot or `demo` (None when that is ambiguous)."""
    slug = view.kwargs.get("slug") or request.query_params.get("bot")
    if slug:
        return slug
    if isinstance(request.auth, ApiKey):
        return request.auth.bot.slug
    return bot_default_slug()


class BotAccess(BasePermission):
    """Active staff users reach every bot; an API key reaches only the bot it was created for."""

    message = "Staff credentials or an API key of this bot are required."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is not None and user.is_active and user.is_staff:
            return True
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        slug = requested_bot_slug(request, view)
        if key.bot.slug != slug:
            self.message = f"This API key belongs to bot {key.bot.slug!r}, not {slug!r}."
            return False
        return True
