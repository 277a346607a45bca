"""Scenario 5: a message that makes the classifier raise, on both answer paths (Celery tasks, and the batched
`answer_worker`). CHARLA_FAULT_POISON_TEXT makes the model raise on any text containing it."""

import asyncio
from pathlib import Path

import psycopg
import pytest

from tests.live import free_port, stack_env, start_answer_worker, start_daphne, stop

from .conftest import FAULTS_ENV, POISON
from .ledger import tally
from .visitor import Tab, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(scope="module")
def batched_stack(django_db_setup, fault_logs):
    port = free_port()
    env = stack_env({**FAULTS_ENV, "CHARLA_INFERENCE_BATCH": "1", "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000"})
    log = fault_logs / "answer-worker.log"
    daphne = start_daphne(port, env, fault_logs / "daphne-batched.log")
    worker = start_answer_worker(env, log)
    yield f"ws://127.0.0.1:{port}/ws/chat/demo/", (log,), env["DATABASE_URL"]
    stop(worker)
    stop(daphne)


@pytest.fixture(params=["celery", "batched"])
def answer_path(request):
    """(path, chat URL, the answerers' logs, database) of the Celery stack or the batched one."""
    if request.param == "celery":
        stack = request.getfixturevalue("fault_stack")
        return request.param, stack.urls[0], stack.worker_logs, stack.dsn
    return request.param, *request.getfixturevalue("batched_stack")


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


async def test_a_poison_message_is_answered_with_the_fallback_once_and_logged(trained_demo_bot, answer_path):
    """The classifier raises on one message: it is answered once with the bot's fallback and the exception is
    logged once; the messages after it in its conversation, and other visitors' (classified in the same
    batches on the batched path), are answered normally, once each and in order."""
    path, url, logs, dsn = answer_path
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
    print(result.line(f"poison-message-{path}", tabs=3))
    result.assert_nothing_lost()
    intents = await asyncio.to_thread(_intents, dsn, poisoned.conversation)
    assert intents == {"hello": "greet", texts[1]: "fallback", "where is my order?": "order_status"}
    logged = await asyncio.to_thread(_logged_since, logs, sizes)
    assert logged.count("the classifier raised; answered with the fallback") == 1
    assert f"fault injection: poison text {POISON!r}" in logged
