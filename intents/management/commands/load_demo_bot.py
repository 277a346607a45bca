import json
from pathlib import Path

from django.core.management.base import BaseCommand

from intents.services import bot_load_definition

DEMO_BOT = Path(__file__).resolve().parents[2] / "demo" / "demo_bot.json"


class Command(BaseCommand):
    help = "Create or update the bilingual demo bot (slug 'demo'); safe to run any number of times."

    def handle(self, *args, **options) -> None:
        bot = bot_load_definition(definition=json.loads(DEMO_BOT.read_text(encoding="utf-8")))
        intents = bot.intents.count()
        self.stdout.write(self.style.SUCCESS(f"Demo bot '{bot.slug}' ready with {intents} intents."))
