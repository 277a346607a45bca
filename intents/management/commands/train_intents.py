from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from intents.selectors import bot_get, production_version_for_bot, training_data_for_bot
from intents.services import artifact_exists, encoder_name, model_train, model_version_promote, training_data_fingerprint


class Command(BaseCommand):
    help = "Train the intent classifier of a bot on its examples and make it the production model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bot", required=True, help="Slug of the bot, e.g. demo.")
        parser.add_argument(
            "--if-changed", action="store_true", help="Do nothing when production was trained on the same examples."
        )
        parser.add_argument("--no-promote", action="store_true", help="Leave the new version as a candidate.")

    def handle(self, *args, bot: str, if_changed: bool, no_promote: bool, **options) -> None:
        bot_obj = bot_get(slug=bot)
        if bot_obj is None:
            raise CommandError(f"No bot with slug {bot!r}. Load one first, e.g. `manage.py load_demo_bot`.")
        if if_changed and self._up_to_date(bot_obj):
            self.stdout.write(f"Bot '{bot}': production model is up to date; nothing to train.")
            return
        with tqdm(total=100, desc="training", unit="%", disable=options["verbosity"] == 0) as bar:

            def progress(stage: str, fraction: float) -> None:
                bar.set_description(stage)
                bar.update(round(fraction * 100) - bar.n)

            version = model_train(bot=bot_obj, progress=progress)
        if not no_promote:
            model_version_promote(version=version)
        self.stdout.write(self.style.SUCCESS(f"Bot '{bot}': trained {version} from {version.artifact_path}."))

    def _up_to_date(self, bot) -> bool:
        production = production_version_for_bot(bot_id=bot.pk)
        if production is None or not artifact_exists(artifact_path=production.artifact_path):
            return False
        fingerprint = training_data_fingerprint(data=training_data_for_bot(bot=bot), encoder=encoder_name())
        return production.data_fingerprint == fingerprint
