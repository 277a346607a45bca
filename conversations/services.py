"""Writes for visitors, conversations and messages."""

import uuid
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intents.classifier import Prediction
from intents.models import Bot, ModelVersion
from intents.services import intent_predict

from .dialogue import dialogue_step, turn_language
from .models import Conversation, Message, Visitor
from .selectors import message_payload
from .tokens import visitor_token_make, visitor_token_read


class MessageRejected(ValueError):
    """A frame or message the protocol refuses; nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EarlierTurnPending(RuntimeError):
    """An earlier user message of the conversation is not answered yet; dialogue steps run in seq order."""


@dataclass(frozen=True)
class Session:
    conversation_id: uuid.UUID
    group_name: str
    token: str
    last_seq: int


def visitor_resolve(*, user_id: int | None, token: str | None) -> Visitor:
    """A logged-in user's own visitor; else the one a valid token names; else a new anonymous one."""
    if user_id is not None:
        visitor, _ = Visitor.objects.get_or_create(user_id=user_id)
        return visitor
    visitor_id = visitor_token_read(token=token) if token else None
    if visitor_id is not None:
        visitor = Visitor.objects.filter(pk=visitor_id, user__isnull=True).first()
        if visitor is not None:
            return visitor
    return Visitor.objects.create()


def session_open(*, bot: Bot, user_id: int | None, token: str | None, language: str | None) -> Session:
    """The visitor's active conversation with the bot (started when there is none), and their token."""
    visitor = visitor_resolve(user_id=user_id, token=token)
    if language not in bot.languages:
        language = bot.default_language
    with transaction.atomic():
        conversation = Conversation.objects.filter(bot=bot, visitor=visitor, status=Conversation.Status.ACTIVE).first()
        if conversation is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(bot=bot, visitor=visitor, language=language)
            except IntegrityError:  # another tab of the same visitor started it first
                conversation = Conversation.objects.get(bot=bot, visitor=visitor, status=Conversation.Status.ACTIVE)
    return Session(
        conversation_id=conversation.id,
        group_name=conversation.group_name,
        token=visitor_token_make(visitor_id=visitor.id),
        last_seq=conversation.last_seq,
    )


def message_validate(*, text: Any, client_id: Any) -> tuple[str, str]:
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 100:
        raise MessageRejected("invalid_client_id", "client_id must be a non-empty string of at most 100 characters.")
    if not isinstance(text, str) or not text.strip():
        raise MessageRejected("empty_text", "text must be a non-empty string.")
    limit = settings.CHARLA_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageRejected("text_too_long", f"text is {len(text)} characters; the limit is {limit}.")
    if "\x00" in text:
        raise MessageRejected("invalid_text", "text must not contain NUL characters.")
    return text.strip(), client_id


def _next_seq(conversation: Conversation) -> int:
    """Hand out the next gapless seq. Runs inside the conversation's row lock."""
    conversation.last_seq += 1
    return conversation.last_seq


def message_receive(*, conversation_id: uuid.UUID, text: Any, client_id: Any) -> tuple[Message, bool]:
    """Store a visitor's message once per client_id and queue its answer; (message, created)."""
    from .tasks import message_answer

    text, client_id = message_validate(text=text, client_id=client_id)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        existing = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if existing is not None:
            return existing, False
        message = Message.objects.create(
            conversation=conversation,
            seq=_next_seq(conversation),
            role=Message.Role.USER,
            text=text,
            client_id=client_id,
            status=Message.Status.PENDING,
        )
        conversation.save(update_fields=["last_seq", "updated_at"])
        message_answer.delay_on_commit(message.pk)
    return message, True


def message_answer(*, message_id: int) -> tuple[Message, bool]:
    """Classify a user message and store its one answer, in seq order; (reply, created)."""
    message = Message.objects.select_related("conversation").get(pk=message_id)
    reply = Message.objects.filter(reply_to_id=message.pk).first()
    if reply is not None:
        return reply, False
    prediction, version = intent_predict(bot_id=message.conversation.bot_id, text=message.text)
    return message_reply_store(message_id=message_id, prediction=prediction, version=version)


def message_reply_store(*, message_id: int, prediction: Prediction, version: ModelVersion) -> tuple[Message, bool]:
    """Apply the dialogue step for an already classified user message; (reply, created).

    Runs inside the conversation's row lock, so the model must have run before (no lock during inference).
    Raises EarlierTurnPending while an earlier user message of the conversation is unanswered.
    """
    with transaction.atomic():
        message = Message.objects.get(pk=message_id)
        conversation = Conversation.objects.select_for_update().select_related("bot").get(pk=message.conversation_id)
        reply = Message.objects.filter(reply_to_id=message.pk).first()
        if reply is not None:
            return reply, False
        earlier = Message.objects.filter(
            conversation=conversation, role=Message.Role.USER, seq__lt=message.seq, reply__isnull=True
        )
        if earlier.exists():
            raise EarlierTurnPending(f"message {message.pk} waits for earlier turns of {conversation.pk}")
        return _reply_store(conversation=conversation, message=message, prediction=prediction, version=version), True


def _reply_store(
    *, conversation: Conversation, message: Message, prediction: Prediction, version: ModelVersion
) -> Message:
    """Runs inside the conversation's row lock."""
    language = turn_language(bot=conversation.bot, prediction=prediction, current=conversation.language)
    turn = dialogue_step(bot=conversation.bot, state=conversation.state, language=language, prediction=prediction)
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.ANSWERED,
        answered_at=now,
        intent=prediction.intent,
        confidence=prediction.confidence,
        language=prediction.language or "",
        ranking=[[name, round(score, 4)] for name, score in prediction.ranking],
        model_version=version,
    )
    reply = Message.objects.create(
        conversation=conversation,
        seq=_next_seq(conversation),
        role=Message.Role.BOT,
        text=turn.text,
        language=turn.language,
        intent=turn.intent,
        confidence=prediction.confidence,
        reply_to=message,
        status=Message.Status.SENT,
        answered_at=now,
        model_version=version,
    )
    conversation.state = turn.state
    conversation.language = turn.language
    conversation.save(update_fields=["last_seq", "state", "language", "updated_at"])
    transaction.on_commit(lambda: reply_publish(reply=reply))
    return reply


def reply_publish(*, reply: Message) -> None:
    """Push a stored bot message to every socket of its conversation."""
    payload = message_payload(reply)
    group = Conversation(id=reply.conversation_id).group_name
    async_to_sync(get_channel_layer().group_send)(group, {"type": "bot.reply", "message": payload})


def bot_for_socket(*, slug: str) -> Bot | None:
    return Bot.objects.filter(slug=slug).first()
