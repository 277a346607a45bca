from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intents.interchange import FORMATS
from intents.selectors import bot_get
from intents.services import bot_export


class Command(BaseCommand):
    help = (
        "Write a bot as a Rasa 3.x zip (one project per language, or --lang's alone), a Dialogflow ES agent zip, "
        "or a CSV of its examples."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bot", required=True, help="Slug of the bot, e.g. demo.")
        parser.add_argument("--format", dest="fmt", required=True, choices=FORMATS)
        parser.add_argument("--lang", help="Rasa: one project in this language; CSV: only its rows. Default: all.")
        parser.add_argument("--output", help="File or folder to write; default: the current folder.")

    def handle(self, *args, bot: str, fmt: str, lang: str | None, output: str | None, **options) -> None:
        bot_obj = bot_get(slug=bot)
        if bot_obj is None:
            raise CommandError(f"No bot with slug {bot!r}.")
        if lang is not None and lang not in bot_obj.languages:
            raise CommandError(f"Bot '{bot}' does not speak {lang!r} (it speaks {', '.join(bot_obj.languages)}).")
        name, content = bot_export(bot=bot_obj, fmt=fmt, language=lang)
        target = Path(output or ".")
        target = target / name if target.is_dir() else target
        target.write_bytes(content)
        self.stdout.write(self.style.SUCCESS(f"Bot '{bot}' written to {target}."))
