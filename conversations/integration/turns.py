"""Stateless turns: POST /api/bots/<slug>/turn. The dialogue state travels with the client; nothing is stored."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from .. import services
from ..consumers import db_call
from .base import ERRORS, NO_MODEL, BotApiView
from .serializers import TurnRequestSerializer, TurnSerializer


class TurnView(BotApiView):
    @extend_schema(
        summary="One stateless dialogue turn",
        description=(
            "The same dialogue engine as a stored conversation (forms, slots, contexts, fallbacks), with its state "
            "in `state`: signed, compressed and valid for CHARLA_TURN_STATE_MAX_AGE seconds. Send null first, then "
            "each answer's state. A tampered (`state_invalid`), expired (`state_expired`) or other bot's "
            "(`state_other_bot`) state gets 400. No person can join here: asking for one is answered so."
        ),
        request=TurnRequestSerializer, responses={200: TurnSerializer, **ERRORS, **NO_MODEL},
        examples=[
            OpenApiExample("First turn", value={"text": "I want to book a table", "state": None}, request_only=True),
            OpenApiExample("Answer", response_only=True, value={"replies": [{"text": "For how many people?",
                           "buttons": [], "intent": "book_table", "language": "en"}], "state": "eJx…:1tQ…:Xr…"}),
        ],
    )  # fmt: skip
    async def post(self, request: Request, slug: str) -> Response:
        body = TurnRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        bot = await self.bot(request)
        turn = await db_call(services.turn_stateless)(
            bot=bot, text=body.validated_data["text"], state=body.validated_data.get("state"),
            language=body.validated_data.get("lang"),
        )  # fmt: skip
        return Response({"replies": turn.replies, "state": turn.state})
