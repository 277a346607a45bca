import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from conversations.services.traffic import traffic_generate
from intents.selectors import bot_get


class Command(BaseCommand):
    help = (
        "Add synthetic conversations to a bot for the analytics dashboard and its benchmark (bench/analytics_page.py): "
        "--messages 1000000 takes about a minute. Only for a development or benchmark database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bot", required=True, help="the bot's slug")
        parser.add_argument("--messages", type=int, default=100_000, help="about this many messages (half replies)")
        parser.add_argument("--days", type=int, default=60, help="spread over the last DAYS days")

    def handle(self, *args, bot: str, messages: int, days: int, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("analytics_generate writes with PostgreSQL's generate_series: set DATABASE_URL.")
        found = bot_get(slug=bot)
        if found is None:
            raise CommandError(f"No bot with slug '{bot}'.")
        if messages < 8 or days < 1:
            raise CommandError("--messages must be at least 8 and --days at least 1.")
        started = time.monotonic()
        try:
            generated = traffic_generate(bot=found, messages=messages, days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Added {generated.messages} messages in {generated.conversations} conversations to {bot} "
            f"in {time.monotonic() - started:.1f} s."
        )
