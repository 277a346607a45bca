"""What a bot's intents need to hold a multi-turn dialogue: entities, required slots, contexts."""

from django.core.exceptions import ValidationError
from django.db import models

from .bots import Bot, Intent, Language

# Entities every bot understands, extracted by well-kept libraries (conversations/dialogue/entities.py).
BUILTIN_ENTITIES = ("sys.number", "sys.datetime", "sys.email", "sys.phone")


def _language_map_validator(value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(texts, list) for texts in value.values()):
        raise ValidationError('Expected texts by language: {"en": ["…"], "es": ["…"]}.')


class Entity(models.Model):
    """A bot's own entity: a regular expression, or a list of values with synonyms."""

    class Kind(models.TextChoices):
        REGEX = "regex", "Regular expression"
        LOOKUP = "lookup", "Lookup list with synonyms"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="entities")
    name = models.SlugField(max_length=100, help_text="Referenced by slots, e.g. order_number.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    pattern = models.CharField(
        max_length=500, blank=True, help_text=r"For regex entities, e.g. ORD-\d{5}; matched case-insensitively."
    )

    class Meta:
        ordering = ["bot", "name"]
        verbose_name_plural = "entities"
        constraints = [
            models.UniqueConstraint(fields=["bot", "name"], name="entity_unique_name_per_bot"),
            models.CheckConstraint(
                condition=~models.Q(kind="regex", pattern=""), name="entity_regex_has_pattern"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug}:{self.name}"


class EntityValue(models.Model):
    """One value of a lookup entity; any synonym found in a message resolves to `value`."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=200)
    synonyms = models.JSONField(default=list, blank=True, help_text='Other ways to say it: ["veggie", "vegetariano"].')
    language = models.CharField(
        max_length=8, choices=Language.choices, blank=True, help_text="Blank: the value is matched in every language."
    )

    class Meta:
        ordering = ["entity", "value"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "value", "language"], name="entity_value_unique")
        ]

    def __str__(self) -> str:
        return self.value


class Slot(models.Model):
    """A value an intent collects; required slots are asked for one by one, in `order` (a form)."""

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="slots")
    name = models.SlugField(max_length=100, help_text="Used in responses as {name}.")
    entity = models.CharField(
        max_length=100, help_text=f"A built-in entity ({', '.join(BUILTIN_ENTITIES)}) or one of the bot's entities."
    )
    required = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    prompts = models.JSONField(
        default=dict, blank=True, validators=[_language_map_validator],
        help_text='Questions asking for the slot, by language: {"en": ["For how many people?"], "es": ["…"]}.',
    )

    class Meta:
        ordering = ["intent", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["intent", "name"], name="slot_unique_name_per_intent")]

    def __str__(self) -> str:
        return f"{self.intent.name}.{self.name}"

    def clean(self) -> None:
        if self.entity in BUILTIN_ENTITIES or not self.intent_id:
            return
        if not Entity.objects.filter(bot_id=self.intent.bot_id, name=self.entity).exists():
            raise ValidationError({"entity": "Not a built-in entity nor one of this bot's entities."})


class IntentContext(models.Model):
    """A context an intent needs to match (input) or sets when it is answered (output), as in Dialogflow.

    An output context lives for `lifespan_turns` user turns and at most `lifespan_minutes` minutes.
    """

    class Direction(models.TextChoices):
        NEEDS = "needs", "Needs (input)"
        SETS = "sets", "Sets (output)"

    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="contexts")
    name = models.SlugField(max_length=100)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    lifespan_turns = models.PositiveSmallIntegerField(default=5)
    lifespan_minutes = models.PositiveIntegerField(default=20)

    class Meta:
        ordering = ["intent", "direction", "name"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "name", "direction"], name="intent_context_unique")
        ]

    def __str__(self) -> str:
        return f"{self.intent.name} {self.direction} {self.name}"
