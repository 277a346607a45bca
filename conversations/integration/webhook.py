"""The REST channel, compatible with Rasa's: POST /webhooks/rest/webhook, and a sender's messages read back."""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from chatbot.api_errors import ApiError

from .. import limits, metrics, selectors, services
from ..consumers import db_call
from ..rest_channel import ReplyTimeout, rest_turn
from .base import ERRORS, BotApiView
from .serializers import ErrorSerializer, RasaMessageSerializer, RasaReplySerializer, SenderMessagesSerializer

BOT_PARAMETER = OpenApiParameter(
    "bot", str, description="The bot's slug; default: the API key's bot, else the only bot, else `demo`."
)


class RestWebhookView(BotApiView):
    @extend_schema(
        summary="Send a user message, get the bot's replies (Rasa REST channel)",
        description=(
            "Rasa's REST channel body and answer. The sender is a visitor of the bot, in its open conversation; the "
            "message is stored, classified and answered like a chat socket's. The call waits up to "
            "CHARLA_REST_REPLY_TIMEOUT seconds; then 504, the message stays stored and is answered later (read it "
            "with GET /api/bots/{slug}/messages). While a person has the conversation the bot is silent: the answer "
            "holds what that person wrote since the sender's last message, often `[]`. While the answer queue is past "
            "capacity (CHARLA_BUSY_QUEUE_AGE_MS) the post is refused with 503 and `Retry-After`, and nothing is "
            "stored; not a post to a conversation a person has taken over, which needs no answer from the bot."
        ),
        parameters=[BOT_PARAMETER],
        request=RasaMessageSerializer,
        responses={
            200: RasaReplySerializer(many=True), **ERRORS,
            503: OpenApiResponse(ErrorSerializer, description="Busy: the answer queue is past capacity. Nothing was "
                                 "stored; post again after `Retry-After` seconds (also `retry_after` in the body)."),
            504: OpenApiResponse(ErrorSerializer, description="No answer in time; the message is stored (seq)."),
        },
        examples=[
            OpenApiExample("Rasa request", value={"sender": "alice", "message": "what time do you open?"},
                           request_only=True),
            OpenApiExample("Rasa answer", response_only=True, value=[{"recipient_id": "alice", "text": "We open 9-18.",
                           "buttons": [{"title": "Book a table", "payload": "/book_table"}]}]),
        ],
    )  # fmt: skip
    async def post(self, request: Request) -> Response:
        body = RasaMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        bot = await self.bot(request)
        wait = await limits.answer_queue_wait()
        if wait is not None and not await db_call(selectors.sender_handed_off)(bot_id=bot.pk, sender=data["sender"]):
            raise _busy(wait)  # a sender whose conversation a person may have goes on: message_receive decides
        try:
            turn = await rest_turn(
                bot=bot, sender=data["sender"], text=data["message"], shed=wait is not None,
                client_id=data.get("message_id") or uuid.uuid4().hex, timeout=settings.CHARLA_REST_REPLY_TIMEOUT,
            )  # fmt: skip
        except services.QueueBusy:
            raise _busy(wait) from None
        except ReplyTimeout as late:
            raise ApiError(
                status_code=504, code="reply_timeout", conversation=str(late.conversation_id), seq=late.seq,
                message=f"No answer within {settings.CHARLA_REST_REPLY_TIMEOUT:g} s. The message is stored (seq "
                f"{late.seq}) and will be answered: read it with GET /api/bots/{bot.slug}/messages?sender=…",
            ) from None
        return Response([_rasa_reply(frame, data["sender"]) for frame in turn.messages])


def _busy(wait: int) -> ApiError:
    """The refusal of a post by load shedding (nothing stored), counted."""
    metrics.message_shed(channel="rest")
    message = f"The bot is busy; nothing was stored. Post the message again in {wait} s."
    return ApiError(status_code=503, code="busy", message=message, retry_after=wait)


def _rasa_reply(frame: dict[str, Any], sender: str) -> dict[str, Any]:
    reply = {"recipient_id": sender, "text": frame["text"]}
    if frame.get("buttons"):
        reply["buttons"] = [{"title": b["title"], "payload": b["payload"]} for b in frame["buttons"]]
    return reply


class SenderMessagesQuerySerializer(serializers.Serializer):
    sender = serializers.CharField(max_length=128)
    after_seq = serializers.IntegerField(min_value=0, default=0)


class SenderMessagesView(BotApiView):
    @extend_schema(
        summary="A REST sender's messages after a seq",
        description="The sender's latest conversation with the bot: every message after `after_seq`, in order, as "
        "the chat protocol's message frames (user, bot and staff). For answers that came after a 504, and for what "
        "a person wrote.",
        parameters=[SenderMessagesQuerySerializer],
        responses={200: SenderMessagesSerializer, **ERRORS},
        examples=[OpenApiExample("Messages", response_only=True, value={
            "conversation": "5b0c2f0e-8d1e-4c3a-9a51-2f1f0f6c8e11",
            "messages": [{"type": "message", "seq": 2, "role": "bot", "text": "We open 9-18.", "reply_to": 1,
                          "intent": "opening_hours", "confidence": 0.94, "language": "en"}],
        })],
    )
    async def get(self, request: Request, slug: str) -> Response:
        query = SenderMessagesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        bot = await self.bot(request)
        conversation, messages = await db_call(selectors.sender_messages)(
            bot_id=bot.pk, sender=query.validated_data["sender"], after_seq=query.validated_data["after_seq"]
        )
        return Response({"conversation": conversation, "messages": messages})
