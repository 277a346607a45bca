import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from intents.demo import demo_action_secret
from intents.services import bot_load_definition

DEMO_BOT = Path(__file__).resolve().parents[2] / "demo" / "demo_bot.json"


class Command(BaseCommand):
    help = (
        "Create or update the bilingual demo bot (slug 'demo'); safe to run any number of times. Its booking "
        "action calls the demo endpoint at --action-url (default CHARLA_DEMO_ACTION_URL, this server's "
        "/demo/actions/)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--action-url", help="action base URL for the demo bot; an empty string turns actions off")

    def handle(self, *args, **options) -> None:
        url = options["action_url"] if options["action_url"] is not None else settings.CHARLA_DEMO_ACTION_URL
        definition = json.loads(DEMO_BOT.read_text(encoding="utf-8"))
        definition["actions"] = {**definition.get("actions", {}), "url": url, "secret": demo_action_secret()}
        bot = bot_load_definition(definition=definition)
        intents = bot.intents.count()
        actions = f"actions call {url}" if url else "actions off"
        self.stdout.write(self.style.SUCCESS(f"Demo bot '{bot.slug}' ready with {intents} intents; {actions}."))
