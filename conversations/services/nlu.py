"""NLU parse: what the bot's production model and entity extractors make of a text, stored nowhere."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from intents.models import Bot
from intents.selectors import bot_dialogue
from intents.services import intent_predict

from ..dialogue import payload_prediction, turn_language
from ..dialogue.entities import entities_extract
from .errors import MessageRejected
from .rules import text_validate

OUT_OF_SCOPE_INTENT = "out_of_scope"
RANKING_SIZE = 10


@dataclass(frozen=True)
class Parsed:
    text: str
    language: str
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]  # best first, at most RANKING_SIZE
    entities: list[dict[str, Any]]  # Rasa's shape: entity, value, start, end, extractor
    model_version: int


def text_parse(*, bot: Bot, text: Any, language: str | None = None, now: datetime | None = None) -> Parsed:
    """Classify `text` with the bot's production model and extract its entities.

    Out of scope is its own intent, `out_of_scope`, whenever the dialogue would fall back: the model rejected the
    text, or its confidence is under the bot's threshold. Like Rasa's FallbackClassifier, its confidence is the
    bot's threshold, and it heads the ranking. A quick-reply payload ("/book_table") names its intent. Raises
    NoModelError when the bot has no production model, MessageRejected for bad text or an unspoken language.
    """
    text = text_validate(text=text)
    if language is not None and language not in bot.languages:
        raise MessageRejected("unsupported_language", f"lang must be one of {', '.join(bot.languages)}.")
    prediction, version = intent_predict(bot_id=bot.pk, text=text, top_k=RANKING_SIZE + 1)
    prediction = payload_prediction(bot=bot, text=text, prediction=prediction)
    language = language or turn_language(bot=bot, prediction=prediction, current="")
    # One more than shown: a trained `out_of_scope` class is reported in first place, not inside the ranking.
    ranking = [(name, round(score, 4)) for name, score in prediction.ranking if name != OUT_OF_SCOPE_INTENT]
    intent, confidence = prediction.intent, round(prediction.confidence, 4)
    if prediction.out_of_scope or prediction.confidence < bot.confidence_threshold:
        intent, confidence = OUT_OF_SCOPE_INTENT, bot.confidence_threshold
        ranking.insert(0, (intent, confidence))
    return Parsed(
        text=text, language=language, intent=intent, confidence=confidence, ranking=ranking[:RANKING_SIZE],
        entities=_entities(bot=bot, text=text, language=language, now=now or timezone.now()),
        model_version=version.version,
    )


def _entities(*, bot: Bot, text: str, language: str, now: datetime) -> list[dict[str, Any]]:
    custom = bot_dialogue(bot=bot).entities
    kinds = {entity.name: entity.kind for entity in custom}
    return [
        {"entity": found.entity, "value": found.value, "start": found.start, "end": found.end,
         "extractor": _EXTRACTORS.get(kinds.get(found.entity, ""), "CharlaBuiltinExtractor")}
        for found in entities_extract(text=text, language=language, custom=custom, now=now)
    ]  # fmt: skip


_EXTRACTORS = {"regex": "CharlaRegexExtractor", "lookup": "CharlaLookupExtractor"}
