"""NLU parse: POST /api/bots/<slug>/parse, and Rasa's POST /model/parse."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..consumers import db_call
from .base import ERRORS, NO_MODEL, BotApiView
from .serializers import ParseRequestSerializer, ParseSerializer, RasaParseRequestSerializer, RasaParseSerializer
from .webhook import BOT_PARAMETER

_PARSED = {
    "text": "table for 4 tomorrow at 8pm", "language": "en",
    "intent": {"name": "book_table", "confidence": 0.93},
    "intent_ranking": [{"name": "book_table", "confidence": 0.93}, {"name": "opening_hours", "confidence": 0.02}],
    "entities": [{"entity": "sys.number", "value": 4, "start": 10, "end": 11, "extractor": "CharlaBuiltinExtractor"}],
    "model_version": 3,
}  # fmt: skip
_DESCRIPTION = (
    "Runs the bot's production model in the web process (loaded once per process, in a thread) and its entity "
    "extractors; stores nothing. Out of scope is the intent `out_of_scope`, reported whenever the dialogue would "
    "fall back (rejected by the model, or under the bot's threshold), with the threshold as its confidence."
)


def _rasa_shape(parsed: services.Parsed) -> dict[str, Any]:
    return {
        "text": parsed.text,
        "intent": {"name": parsed.intent, "confidence": parsed.confidence},
        "intent_ranking": [{"name": name, "confidence": score} for name, score in parsed.ranking],
        "entities": parsed.entities,
    }


class ParseView(BotApiView):
    @extend_schema(
        summary="What a text means to the bot: intent, ranking, entities",
        description=_DESCRIPTION, request=ParseRequestSerializer,
        responses={200: ParseSerializer, **ERRORS, **NO_MODEL},
        examples=[OpenApiExample("Parse", value={"text": "table for 4 tomorrow at 8pm"}, request_only=True),
                  OpenApiExample("Parsed", value=_PARSED, response_only=True)],
    )  # fmt: skip
    async def post(self, request: Request, slug: str) -> Response:
        body = ParseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bot = await self.bot(request)
        parsed = await db_call(services.text_parse)(
            bot=bot, text=body.validated_data["text"], language=body.validated_data.get("lang")
        )
        return Response({**_rasa_shape(parsed), "language": parsed.language, "model_version": parsed.model_version})


class RasaParseView(BotApiView):
    @extend_schema(
        summary="Rasa's /model/parse",
        description=f"Rasa's body and answer (`message_id` is echoed when given). {_DESCRIPTION}",
        parameters=[BOT_PARAMETER], request=RasaParseRequestSerializer,
        responses={200: RasaParseSerializer, **ERRORS, **NO_MODEL},
        examples=[OpenApiExample("Rasa parse", value={"text": "hello", "message_id": "m-1"}, request_only=True),
                  OpenApiExample("Rasa answer", response_only=True,
                                 value={k: v for k, v in _PARSED.items() if k not in ("language", "model_version")})],
    )  # fmt: skip
    async def post(self, request: Request) -> Response:
        body = RasaParseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bot = await self.bot(request)
        parsed = await db_call(services.text_parse)(bot=bot, text=body.validated_data["text"])
        answer = _rasa_shape(parsed)
        if "message_id" in body.validated_data:
            answer["message_id"] = body.validated_data["message_id"]
        return Response(answer)
