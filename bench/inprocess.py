"""What the in-process benches (bench.receive, bench.consumer, bench.answer) share: Django set up in this process
against the environment's DATABASE_URL and REDIS_URL, conversations of the demo bot and visitors' messages in
them, and the report (the result printed as one JSON line, and written to --json FILE)."""

import argparse
import json
import os
import uuid

TEXT = "where is my order?"


def arguments(doc: str) -> argparse.ArgumentParser:
    """A bench's command line: its docstring's first paragraph as the description, and --json FILE."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--json", help="also write the result to this file")
    return parser


def django_setup(**environ: str) -> None:
    """Set Django up in this process; `environ` sets environment variables the settings read before they are."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("CHARLA_DEV", "1")  # a local bench: the development secret key will do
    os.environ.update(environ)
    import django

    django.setup()


def demo_conversations(count: int) -> list[uuid.UUID]:
    """The ids of `count` new conversations of the demo bot, opened as a visitor's chat socket opens them."""
    from conversations.services import session_open
    from intents.models import Bot

    bot = Bot.objects.get(slug="demo")
    return [session_open(bot=bot, user_id=None, token=None, language="en").conversation_id for _ in range(count)]


def messages_receive(conversations: list[uuid.UUID], count: int) -> None:
    """Store `count` visitors' messages round-robin over the conversations, as the chat consumer's thread does."""
    from conversations.services import message_receive

    for i in range(count):
        conversation = conversations[i % len(conversations)]
        message_receive(conversation_id=conversation, text=TEXT, client_id=uuid.uuid4().hex)


def report(result: dict, path: str | None) -> dict:
    """Print the result as one JSON line and, with a path, write it there too."""
    print(json.dumps(result))
    if path:
        with open(path, "w") as out:
            json.dump(result, out, indent=2)
    return result
