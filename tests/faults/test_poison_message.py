"""Scenario 5: a message that makes the classifier raise, on the fault suite's stack (two answer workers).
CHARLA_FAULT_POISON_TEXT makes the model raise on any text containing it."""

import asyncio
from pathlib import Path

import psycopg
import pytest

from .conftest import POISON
from .ledger import tally
from .visitor import Tab, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _log_sizes(logs: tuple[Path, ...]) -> list[int]:
    return [log.stat().st_size if log.exists() else 0 for log in logs]


def _logged_since(logs: tuple[Path, ...], sizes: list[int]) -> str:
    return "".join(log.read_text(errors="replace")[size:] for log, size in zip(logs, sizes))


def _intents(dsn: str, conversation: str) -> dict[str, str]:
    """User message text -> the intent of its answer."""
    with psycopg.connect(dsn) as connection:
        return dict(connection.execute(
            "SELECT u.text, b.intent FROM conversations_message u JOIN conversations_message b ON b.reply_to_id = u.id"
            " WHERE u.conversation_id::text = %s", [conversation],
        ).fetchall())  # fmt: skip


async def test_a_poison_message_is_answered_with_the_fallback_once_and_logged(trained_demo_bot, fault_stack):
    """The classifier raises on one message: it is answered once with the bot's fallback and the exception is
    logged once; the messages after it in its conversation, and other visitors' (classified in the same
    batches), are answered normally, once each and in order."""
    url, logs, dsn = fault_stack.urls[0], fault_stack.worker_logs, fault_stack.dsn
    sizes = _log_sizes(logs)
    poisoned, *others = [await Tab(url).open() for _ in range(3)]
    texts = ["hello", f"what about {POISON}?", "where is my order?"]
    try:
        for n, text in enumerate(texts):
            await poisoned.say(text)
            await others[n % 2].say(["who are you?", "what time do you open?", "thanks"][n])
        await until(lambda: all(tab.done() for tab in (poisoned, *others)), timeout=120)
    finally:
        for tab in (poisoned, *others):
            await tab.close()
    result = await asyncio.to_thread(tally, dsn, [poisoned, *others])
    print(result.line("poison-message", tabs=3))
    result.assert_nothing_lost()
    intents = await asyncio.to_thread(_intents, dsn, poisoned.conversation)
    assert intents == {"hello": "greet", texts[1]: "fallback", "where is my order?": "order_status"}
    logged = await asyncio.to_thread(_logged_since, logs, sizes)
    assert logged.count("the classifier raised; answered with the fallback") == 1
    assert f"fault injection: poison text {POISON!r}" in logged
