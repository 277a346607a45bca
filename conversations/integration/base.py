from typing import Any

from adrf.views import APIView
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from intents.models import Bot
from intents.permissions import BotAccess, requested_bot_slug
from intents.selectors import bot_get

from ..consumers import db_call
from .serializers import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad JSON, a missing field, an empty or oversize text."),
    401: OpenApiResponse(ErrorSerializer, description="No credentials, or an unknown or revoked API key."),
    403: OpenApiResponse(ErrorSerializer, description="An API key of another bot, or a user who is not staff."),
    404: OpenApiResponse(ErrorSerializer, description="No such bot."),
    415: OpenApiResponse(ErrorSerializer, description="The body is not application/json."),
}
NO_MODEL = {503: OpenApiResponse(ErrorSerializer, description="The bot has no production model yet.")}


class BotApiView(APIView):
    """An endpoint about one bot (the URL's slug, or `?bot=`): staff or an API key of that bot; JSON bodies."""

    permission_classes = [BotAccess]
    parser_classes = [JSONParser]

    async def bot(self, request: Request) -> Bot:
        bot = await db_call(_bot_for)(request, self)
        if bot is None:
            raise NotFound("No such bot.", code="unknown_bot")
        return bot


def _bot_for(request: Request, view: Any) -> Bot | None:
    slug = requested_bot_slug(request, view)
    return bot_get(slug=slug) if slug else None
