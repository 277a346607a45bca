"""The dialogue step: given a classified user turn, decide the bot's answer and the new state."""

import random
from dataclasses import dataclass
from typing import Any

from intents.classifier import Prediction
from intents.models import Bot
from intents.selectors import response_texts

FALLBACK_INTENT = "fallback"
_DEFAULT_FALLBACK = {
    "en": "Sorry, I didn't understand that. Could you say it another way?",
    "es": "Perdona, no lo he entendido. ¿Puedes decirlo de otra forma?",
}


@dataclass(frozen=True)
class Turn:
    text: str
    intent: str
    language: str
    state: dict[str, Any]


def turn_language(*, bot: Bot, prediction: Prediction, current: str) -> str:
    """The detected language when the bot speaks it, else the conversation's."""
    if prediction.language and prediction.language in bot.languages:
        return prediction.language
    return current or bot.default_language


def dialogue_step(*, bot: Bot, state: dict[str, Any], language: str, prediction: Prediction) -> Turn:
    understood = not prediction.out_of_scope and prediction.confidence >= bot.confidence_threshold
    intent = prediction.intent if understood else FALLBACK_INTENT
    choices = response_texts(bot=bot, intent=intent, language=language) if understood else []
    if not choices:
        intent = FALLBACK_INTENT
        choices = bot.fallback_responses.get(language) or [_DEFAULT_FALLBACK.get(language, _DEFAULT_FALLBACK["en"])]
    new_state = {
        **state,
        "turns": state.get("turns", 0) + 1,
        "last_intent": intent,
        "fallbacks_in_row": state.get("fallbacks_in_row", 0) + 1 if intent == FALLBACK_INTENT else 0,
    }
    return Turn(text=random.choice(choices), intent=intent, language=language, state=new_state)
