from django.core.management.base import BaseCommand, CommandError

from intents.selectors import bot_get, model_version_get
from intents.services import ModelVersionError, model_version_promote, model_version_rollback


class Command(BaseCommand):
    help = "Make a model version production: --to N, or --rollback to the previous production version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bot", required=True, help="Slug of the bot, e.g. demo.")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--to", dest="number", type=int, help="Version number to serve.")
        target.add_argument("--rollback", action="store_true", help="Serve the version that was production before.")

    def handle(self, *args, bot: str, number: int | None, rollback: bool, **options) -> None:
        bot_obj = bot_get(slug=bot)
        if bot_obj is None:
            raise CommandError(f"No bot with slug {bot!r}.")
        try:
            if rollback:
                served = model_version_rollback(bot=bot_obj)
            else:
                model = model_version_get(bot=bot_obj, number=number)
                if model is None:
                    raise CommandError(f"Bot '{bot}' has no version {number}.")
                served = model_version_promote(version=model)
        except ModelVersionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Bot '{bot}': now serving {served}."))
