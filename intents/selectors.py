import uuid
from dataclasses import dataclass

from django.db import connection

from .models import Bot, Entity, Intent, ModelVersion, PredictionItem, PredictionJob, TrainingExample


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


def production_version_id(*, bot_id: int) -> int | None:
    """The id of the bot's production version. Read before every prediction, so plain SQL: 0.25 ms here
    against 1.4 ms for the same query built by the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {connection.ops.quote_name(ModelVersion._meta.db_table)} WHERE bot_id = %s AND stage = %s",
            [bot_id, ModelVersion.Stage.PRODUCTION],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def model_version_get(*, bot: Bot, number: int | None = None) -> ModelVersion | None:
    """Version `number` of the bot, or its production version when number is None."""
    if number is None:
        return production_version_for_bot(bot_id=bot.pk)
    return ModelVersion.objects.filter(bot=bot, version=number).first()


@dataclass(frozen=True)
class SlotSpec:
    name: str
    entity: str
    required: bool
    prompts: dict[str, list[str]]


@dataclass(frozen=True)
class ResponseSpec:
    text: str
    language: str
    context: str
    buttons: list[dict[str, str]]


@dataclass(frozen=True)
class ContextSpec:
    name: str
    turns: int
    minutes: int


@dataclass(frozen=True)
class IntentSpec:
    """An intent's dialogue settings as plain data, for the dialogue step."""

    name: str
    slots: list[SlotSpec]
    needs: list[str]
    sets: list[ContextSpec]
    responses: list[ResponseSpec]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    kind: str
    pattern: str
    values: list[tuple[str, list[str], str]]  # (value, synonyms, language or "" for any)


@dataclass(frozen=True)
class BotDialogue:
    """A bot's active intents (by name) and its own entities, as plain data for the dialogue step."""

    intents: dict[str, IntentSpec]
    entities: list[EntitySpec]


_DIALOGUES: dict[int, tuple[uuid.UUID, BotDialogue]] = {}  # bot pk -> (revision, dialogue); one entry per bot


def bot_dialogue(*, bot: Bot) -> BotDialogue:
    """The bot's dialogue settings, read once per process and revision: a turn costs no query for them.

    `bot.dialogue_revision` changes with every edit of its intents, responses, slots, contexts or entities
    (intents/signals.py), and the worker reads the bot row with each turn, so an edit counts from the next turn.
    """
    cached = _DIALOGUES.get(bot.pk)
    if cached is not None and cached[0] == bot.dialogue_revision:
        return cached[1]
    intents = Intent.objects.filter(bot=bot, active=True).prefetch_related("slots", "contexts", "responses")
    dialogue = BotDialogue(
        intents={intent.name: _intent_spec(intent) for intent in intents},
        entities=[
            EntitySpec(e.name, e.kind, e.pattern, [(v.value, v.synonyms or [], v.language) for v in e.values.all()])
            for e in Entity.objects.filter(bot=bot).prefetch_related("values")
        ],
    )
    _DIALOGUES[bot.pk] = (bot.dialogue_revision, dialogue)
    return dialogue


def _intent_spec(intent: Intent) -> IntentSpec:
    contexts = list(intent.contexts.all())
    return IntentSpec(
        name=intent.name,
        slots=[SlotSpec(s.name, s.entity, s.required, s.prompts or {}) for s in intent.slots.all()],
        needs=[c.name for c in contexts if c.direction == "needs"],
        sets=[ContextSpec(c.name, c.lifespan_turns, c.lifespan_minutes) for c in contexts if c.direction == "sets"],
        responses=[ResponseSpec(r.text, r.language, r.context, r.buttons or []) for r in intent.responses.all()],
    )


def prediction_job_get(*, bot: Bot, job_id: uuid.UUID) -> PredictionJob | None:
    return PredictionJob.objects.filter(bot=bot, pk=job_id).select_related("bot", "model_version").first()


def prediction_results_page(*, job_id: uuid.UUID, after: int, limit: int) -> list[tuple]:
    """Up to `limit` items of the job after position `after`, in order: (position, external_id, text, intent,
    confidence, out_of_scope, language), result fields None/"" while unwritten. Keyset pages on the
    (job, position) index let a results stream of any size read without an open cursor or an OFFSET scan."""
    return list(
        PredictionItem.objects.filter(job_id=job_id, position__gt=after)
        .order_by("position")
        .values_list("position", "external_id", "text", "intent", "confidence", "out_of_scope", "language")[:limit]
    )
