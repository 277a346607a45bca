from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from intents.selectors import bot_get, model_version_get
from intents.services import model_version_export


class Command(BaseCommand):
    help = "Write a self-contained ONNX copy of a model version (encoder graph, tokenizer, heads) for edge devices."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bot", required=True, help="Slug of the bot, e.g. demo.")
        parser.add_argument(
            "--model-version", dest="number", type=int, help="Version number; default: the production version."
        )
        parser.add_argument("--format", default="onnx", choices=["onnx"])
        parser.add_argument("--quantize", default="none", choices=["none", "int8"], help="int8: per-channel weights.")
        parser.add_argument("--output", help="Target folder; default: beside the version's artifact.")

    def handle(self, *args, bot: str, number: int | None, quantize: str, output: str | None, **options) -> None:
        bot_obj = bot_get(slug=bot)
        if bot_obj is None:
            raise CommandError(f"No bot with slug {bot!r}.")
        model = model_version_get(bot=bot_obj, number=number)
        if model is None:
            raise CommandError(f"Bot '{bot}' has no {f'version {number}' if number else 'production version'}.")
        target = model_version_export(version=model, quantize=quantize, target=Path(output) if output else None)
        self.stdout.write(self.style.SUCCESS(f"Exported {model} to {target}"))
