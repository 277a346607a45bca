from intents.classifier import Prediction
from intents.models import Bot


def turn_language(*, bot: Bot, prediction: Prediction, current: str) -> str:
    """The detected language when the bot speaks it, else the conversation's."""
    if prediction.language and prediction.language in bot.languages:
        return prediction.language
    return current or bot.default_language
