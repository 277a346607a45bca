from dataclasses import dataclass

from .models import Bot, Intent, ModelVersion, Response, TrainingExample


@dataclass(frozen=True)
class TrainingData:
    texts: list[str]
    intents: list[str]
    languages: list[str]


def bot_get(*, slug: str) -> Bot | None:
    return Bot.objects.filter(slug=slug).first()


def training_data_for_bot(*, bot: Bot) -> TrainingData:
    rows = (
        TrainingExample.objects.filter(intent__bot=bot, intent__active=True)
        .order_by("intent__name", "language", "text")
        .values_list("text", "intent__name", "language")
    )
    texts, intents, languages = (list(column) for column in zip(*rows)) if rows else ([], [], [])
    return TrainingData(texts=texts, intents=intents, languages=languages)


def production_version_for_bot(*, bot_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(bot_id=bot_id, stage=ModelVersion.Stage.PRODUCTION).first()


def response_texts(*, bot: Bot, intent: str, language: str) -> list[str]:
    """The intent's responses in `language`, or in any language when it has none in that one."""
    responses = Response.objects.filter(intent__bot=bot, intent__name=intent, intent__active=True)
    texts = list(responses.filter(language=language).values_list("text", flat=True))
    return texts or list(responses.values_list("text", flat=True))


def intent_names_for_bot(*, bot: Bot) -> list[str]:
    return list(Intent.objects.filter(bot=bot, active=True).values_list("name", flat=True))
