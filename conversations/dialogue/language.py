from typing import Any

from intents.classifier import Prediction
from intents.models import Bot


def turn_language(*, bot: Bot, prediction: Prediction, current: str, state: dict[str, Any] | None = None) -> str:
    """The detected language when the bot speaks it, else the conversation's. While a form waits for a value the
    conversation's language stays: "4" or an e-mail address says nothing about the visitor's language."""
    if state and state.get("form"):
        return current or bot.default_language
    if prediction.language and prediction.language in bot.languages:
        return prediction.language
    return current or bot.default_language
