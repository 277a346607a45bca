"""Importing a bot from, and exporting it to, Rasa, Dialogflow and CSV files (intents/interchange/)."""

from dataclasses import dataclass, field

from django.db import transaction

from ..interchange import Files, definition_from_files, definition_merge, definition_to_file
from ..models import Bot
from ..selectors import bot_definition
from .bots import bot_load_definition


# Shown, not the secret itself: a command's output may end up in logs, and the admin shows a secret once.
SECRET_MADE = (
    "The new bot's actions are signed with a random action secret that nobody has seen yet: rotate it in the admin "
    "(Bots → Rotate the action secret) to see it once, and give it to your backend."
)


@dataclass
class BotImport:
    bot: Bot
    created: bool
    intents: int  # intents the files named
    examples: int  # examples the files held
    notes: list[str] = field(default_factory=list)  # what did not map to Charla and was skipped


def bot_import(*, slug: str, fmt: str, files: Files, language: str | None = None) -> BotImport:
    """Create or update bot `slug` from files in `fmt`, in one transaction, under the bot's row lock.

    The files are the truth for the intents they name, in the languages they hold (intents.interchange.merge);
    other intents and languages stay. A new bot takes its name, languages, threshold and action timeout from the
    files, and a random action secret (files never hold one); an existing one keeps its settings. Raises
    ImportFormatError (naming the file and line) before any write.
    """
    notes: list[str] = []
    imported = definition_from_files(fmt, files, language=language, notes=notes)
    with transaction.atomic():
        bot = Bot.objects.select_for_update().filter(slug=slug).first()
        if bot is None:
            current = {"slug": slug, "name": imported.get("name", slug), "languages": [], "intents": []}
        else:
            current = bot_definition(bot=bot)
            imported = _without_settings(imported)
        bot_load_definition(definition=definition_merge(current, imported))
    if bot is None and any(intent.get("action") for intent in imported["intents"]):
        notes.append(SECRET_MADE)
    examples = sum(len(texts) for intent in imported["intents"] for texts in intent.get("examples", {}).values())
    return BotImport(Bot.objects.get(slug=slug), bot is None, len(imported["intents"]), examples, notes)


def bot_export(*, bot: Bot, fmt: str, language: str | None = None) -> tuple[str, bytes]:
    """(file name, content) of the bot's active intents, entities and settings in `fmt`; `language` limits a
    Rasa export to one project, a CSV to one language's rows."""
    return definition_to_file(fmt, bot_definition(bot=bot), language=language)


def _without_settings(imported: dict) -> dict:
    """The bot's content the files hold, without the settings an existing bot keeps (name, threshold, timeout)."""
    content = {key: value for key, value in imported.items() if key not in ("name", "confidence_threshold")}
    if "actions" in content:
        content["actions"] = {key: value for key, value in content["actions"].items() if key != "timeout"}
    return content
