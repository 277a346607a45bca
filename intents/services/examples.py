"""Writes for training examples one at a time (the operators' inbox teaches the bot what it missed)."""

from django.db import transaction

from ..classifier.prediction import OUT_OF_SCOPE_INTENT
from ..models import Bot, Intent, Language, TrainingExample


class ExampleRejected(ValueError):
    """A text that cannot become a training example (too long, empty, an unknown language)."""


@transaction.atomic
def training_example_add(*, intent: Intent, text: str, language: str) -> TrainingExample:
    """The example `text` of `intent` in `language`, created unless the intent already has it (then that one).
    The bot's next training uses it; serving models do not change until then."""
    text = text.strip()
    limit = TrainingExample._meta.get_field("text").max_length
    if not text:
        raise ExampleRejected("An empty text cannot be an example.")
    if len(text) > limit:
        raise ExampleRejected(f"Examples are at most {limit} characters; this text has {len(text)}.")
    if language not in Language.values:
        raise ExampleRejected(f"Unknown language '{language}' (known: {', '.join(Language.values)}).")
    example, _ = TrainingExample.objects.get_or_create(intent=intent, language=language, text=text)
    return example


def out_of_scope_intent_get(*, bot: Bot) -> Intent:
    """The bot's `out_of_scope` intent, created on first use. The classifier trains its examples as a class
    whose prediction is always a rejection (docs/architecture.md), so it needs no responses."""
    intent, _ = Intent.objects.get_or_create(
        bot=bot, name=OUT_OF_SCOPE_INTENT,
        defaults={"description": "Messages the bot must not answer: examples train the classifier to reject them."},
    )  # fmt: skip
    return intent
