from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from intents.interchange import FORMATS, ImportFormatError, format_detect, read_files, read_folder
from intents.services import bot_import


class Command(BaseCommand):
    help = (
        "Create or update a bot from a Rasa 3.x project (folder, zip or YAML file), a Dialogflow ES agent "
        "(zip or folder) or a CSV of examples (intent,text[,lang]); one transaction: a bad file changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="A zip, a folder, or a single .yml / .csv file.")
        parser.add_argument("--bot", required=True, help="Slug of the bot to create or update, e.g. demo.")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, help="Default: guessed from the files.")
        parser.add_argument(
            "--lang", help="Language of a Rasa project (default: its config.yml's, else en) or of CSV rows without one."
        )

    def handle(self, *args, path: str, bot: str, fmt: str | None, lang: str | None, **options) -> None:
        try:
            validate_slug(bot)
        except ValidationError as exc:
            raise CommandError(f"--bot {bot!r}: {exc.messages[0]}") from exc
        source = Path(path)
        if not source.exists():
            raise CommandError(f"No file or folder at {path!r}.")
        try:
            files = read_folder(source) if source.is_dir() else read_files(source.name, source.read_bytes())
            result = bot_import(slug=bot, fmt=fmt or format_detect(files), files=files, language=lang)
        except ImportFormatError as exc:
            raise CommandError(f"Nothing imported: {exc}") from exc
        for note in result.notes:
            self.stderr.write(f"note: {note}")
        action = "created" if result.created else "updated"
        self.stdout.write(self.style.SUCCESS(
            f"Bot '{bot}' {action}: {result.intents} intents, {result.examples} examples imported."
        ))  # fmt: skip
