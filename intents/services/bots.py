"""Writes for bots and their intents: loading a definition, rotating the action secret."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import transaction

from ..dialogue import bot_dialogue_load
from ..models import Bot, Intent, Response, TrainingExample
from ..models.bots import ACTION_NAME, action_secret_new, texts_by_language_validator

# The definition's "actions" keys and the Bot fields they set; a key left out keeps the bot's current value,
# so a definition can name the actions while each deployment sets its own URL and secret (docs/actions.md).
# A new bot whose definition has no secret gets a random one (Bot.action_secret's default).
ACTION_SETTINGS = {"url": "action_url", "secret": "action_secret", "timeout": "action_timeout",
                   "failure": "action_failure_responses"}  # fmt: skip


@transaction.atomic
def bot_load_definition(*, definition: dict[str, Any]) -> Bot:
    """Create or update a bot from a definition (see intents/demo/demo_bot.json); running it twice changes nothing."""
    bot, _ = Bot.objects.update_or_create(
        slug=definition["slug"],
        defaults={
            "name": definition["name"],
            "languages": definition["languages"],
            "confidence_threshold": definition.get("confidence_threshold", 0.5),
            "fallback_responses": definition.get("fallback", {}),
            "allowed_origins": definition.get("allowed_origins", []),
            **_action_settings(definition.get("actions", {})),
        },
    )
    for item in definition["intents"]:
        RegexValidator(ACTION_NAME, f"intent {item['slug']}: action must be a relative path")(item.get("action", ""))
        intent, _ = Intent.objects.update_or_create(
            bot=bot, name=item["slug"],
            defaults={"description": item.get("description", ""), "active": True, "action": item.get("action", "")},
        )
        _sync_texts(TrainingExample, intent, item["examples"])
        _sync_texts(Response, intent, item["responses"])
    bot_dialogue_load(bot=bot, definition=definition)
    dialogue_revision_bump(bot_id=bot.pk)  # the bulk writes above send no signals
    return bot


def _action_settings(actions: dict[str, Any]) -> dict[str, Any]:
    if actions.get("url"):
        URLValidator(schemes=["http", "https"])(actions["url"])
    if "secret" in actions and not actions["secret"]:
        raise ValidationError("actions.secret must not be empty: leave it out to keep the bot's own secret.")
    texts_by_language_validator(actions.get("failure", {}))
    return {field: actions[key] for key, field in ACTION_SETTINGS.items() if key in actions}


def bot_action_secret_rotate(*, bot: Bot) -> str:
    """Give `bot` a new random action secret and return it, for the admin to show once (docs/actions.md).
    The next action call is signed with it, so the backend must be given it at the same time."""
    bot.action_secret = action_secret_new()
    Bot.objects.filter(pk=bot.pk).update(action_secret=bot.action_secret)
    return bot.action_secret


def dialogue_revision_bump(*, bot_id: int | None) -> None:
    """Workers reload the bot's dialogue settings at its next turn (see intents.selectors.bot_dialogue)."""
    if bot_id is not None:
        Bot.objects.filter(pk=bot_id).update(dialogue_revision=uuid.uuid4())


def _sync_texts(
    model: type[TrainingExample] | type[Response], intent: Intent, by_language: dict[str, list[str]]
) -> None:
    wanted = {(language, text) for language, texts in by_language.items() for text in texts}
    rows = model.objects.filter(intent=intent)
    if model is Response:
        rows = rows.filter(context="")  # responses conditioned on a context are loaded by bot_dialogue_load
    existing = {(row.language, row.text): row.pk for row in rows}
    model.objects.filter(pk__in=[pk for key, pk in existing.items() if key not in wanted]).delete()
    model.objects.bulk_create(
        [model(intent=intent, language=language, text=text) for language, text in sorted(wanted - existing.keys())]
    )
