"""Stateless turns: the dialogue engine with its state carried by the client in a signed, time-limited token.

The server stores nothing. The token holds what `Conversation.state` and `Conversation.language` hold in stateful
mode (turn counter, last intent, fallbacks in a row, contexts, slots, open form; the language) and the bot's id,
signed with SECRET_KEY (django.core.signing, compressed) and refused after CHARLA_TURN_STATE_MAX_AGE seconds.
No person can join a conversation nobody stores: asking for one is answered that it is unavailable here.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils import timezone

from intents.models import Bot
from intents.services import intent_predict

from ..dialogue import payload_prediction, turn_language
from .actions import dialogue_step_acting
from .errors import MessageRejected
from .rules import text_validate

STATE_SALT = "charla.stateless-turn"
STATE_FORMAT = 1


@dataclass(frozen=True)
class StatelessTurn:
    replies: list[dict[str, Any]]  # {"text", "buttons", "intent", "language"}, in order
    state: str  # the token to send with the next turn


def turn_stateless(
    *, bot: Bot, text: Any, state: str | None, language: str | None = None, now: datetime | None = None
) -> StatelessTurn:
    """One user turn through the same dialogue step as a stored conversation; the new state comes back signed.

    `state` is None for a first turn; `language` (first turn only) is where the conversation starts, as `?lang=`
    does for a chat socket. Raises MessageRejected for bad text, a language the bot does not speak, and a state
    that is tampered with (`state_invalid`), expired (`state_expired`) or another bot's (`state_other_bot`);
    NoModelError without a production model.
    """
    text = text_validate(text=text)
    if language is not None and language not in bot.languages:
        raise MessageRejected("unsupported_language", f"lang must be one of {', '.join(bot.languages)}.")
    carried = _state_read(bot=bot, token=state) if state is not None else {}
    dialogue = carried.get("dialogue") or {}
    current = carried.get("language") or language or bot.default_language
    now = now or timezone.now()
    prediction, _ = intent_predict(bot_id=bot.pk, text=text)
    prediction = payload_prediction(bot=bot, text=text, prediction=prediction)
    language = turn_language(bot=bot, prediction=prediction, current=current, state=dialogue)
    turn = dialogue_step_acting(
        bot=bot, state=dialogue, language=language, prediction=prediction, text=text, now=now,
        handoff_available=False,
    )
    token = signing.dumps(
        {"v": STATE_FORMAT, "bot": bot.pk, "language": turn.language, "dialogue": turn.state},
        salt=STATE_SALT, compress=True,
    )
    reply = {"text": turn.text, "buttons": turn.buttons, "intent": turn.intent, "language": turn.language}
    return StatelessTurn(replies=[reply], state=token)


def _state_read(*, bot: Bot, token: Any) -> dict[str, Any]:
    if not isinstance(token, str):
        raise MessageRejected("state_invalid", "state must be the string a previous turn returned, or null.")
    try:
        carried = signing.loads(token, salt=STATE_SALT, max_age=settings.CHARLA_TURN_STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise MessageRejected(
            "state_expired",
            f"This state is older than {settings.CHARLA_TURN_STATE_MAX_AGE} seconds: start again with state null.",
        ) from None
    except signing.BadSignature:
        raise MessageRejected(
            "state_invalid", "This state was altered or is not one this server issued: start again with state null."
        ) from None
    if not isinstance(carried, dict) or carried.get("v") != STATE_FORMAT:
        raise MessageRejected("state_invalid", "This state's format is not understood: start again with state null.")
    if carried.get("bot") != bot.pk:
        raise MessageRejected("state_other_bot", "This state belongs to another bot's conversation.")
    return carried
