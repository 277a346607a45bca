import json
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations

from intents.classifier import IntentClassifier
from tests.live import ROOT, free_port, stack_env, start_answer_worker, start_daphne, stop, use_model_storage

# Tests run development servers: the daphne and Celery processes they start (through the environment) and the
# ASGI application they import (pytest-django loaded the settings before this file) may use the development key.
os.environ["CHARLA_DEV"] = "1"
django_settings.CHARLA_DEV = True
# Many tests queue messages with no worker running on purpose (answered when one starts): load shedding would refuse
# them after a second. It is off here and on in the tests of it (tests/test_load_shedding.py and others that set it).
os.environ["CHARLA_BUSY_QUEUE_AGE_MS"] = "0"
django_settings.CHARLA_BUSY_QUEUE_AGE_MS = 0
# Users made here (admin_client, API and operator fixtures: about eighty a run) get a cheap password hash: the
# production hasher's iterations cost 0.5-2 s of CPU each. Processes the tests start keep the production hashers, so
# a user who logs in to one through its login form needs a password made with `tests.live.LIVE_HASHER`.
django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *django_settings.PASSWORD_HASHERS]

DEMO_BOT_FILE = Path(__file__).resolve().parent.parent / "intents" / "demo" / "demo_bot.json"

_truncate_flush = PostgresOperations.sql_flush


def _delete_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """Empty the tables with DELETE, not TRUNCATE, after each `transaction=True` test (Django's `flush`).

    TRUNCATE gives each of the ~30 tables new files: about 2 s per test on this machine under load, against
    0.05 s for DELETE of the few rows a test leaves. The statements run in one transaction and every foreign key
    is DEFERRABLE INITIALLY DEFERRED, so the order does not matter; sequences are left as TRUNCATE leaves them."""
    if reset_sequences or allow_cascade:
        return _truncate_flush(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]


PostgresOperations.sql_flush = _delete_flush


# The longest files (40 s to 2 min each in one process, `--durations`), run first: the two test processes
# (`make test`, xdist's whole files in collection order) then finish together instead of one waiting on the other's
# last long file. Only the order changes; a name that goes stale costs nothing.
LONGEST_FIRST = (
    "tests/intents/classifier/test_evaluation.py",
    "tests/test_reliability.py",
    "tests/browser/test_widget.py",
    "tests/intents/classifier/test_onnx.py",
    "tests/faults/test_redis_outage.py",
    "tests/faults/test_postgres_restart.py",
    "tests/test_load_shedding.py",
    "tests/test_rest_channel.py",
    "tests/test_settings.py",
    "tests/monitoring/test_health.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: files keep their order


@pytest.fixture(scope="session")
def demo_definition() -> dict:
    return json.loads(DEMO_BOT_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_artifact(tmp_path_factory, demo_definition) -> Path:
    """The demo bot's classifier, trained once per test session (the real model, not a stand-in)."""
    texts, intents, languages = [], [], []
    for intent in demo_definition["intents"]:
        for language, examples in intent["examples"].items():
            texts += examples
            intents += [intent["slug"]] * len(examples)
            languages += [language] * len(examples)
    path = tmp_path_factory.mktemp("models") / "demo" / "v1"
    IntentClassifier.train(texts=texts, intents=intents, languages=languages).save(path)
    return path


@pytest.fixture
def model_dir(tmp_path, settings) -> Path:
    """The model storage (filesystem) at this test's `models` folder, and this host's cache beside it."""
    use_model_storage(settings, storage=tmp_path / "models", cache=tmp_path / "model-cache")
    return settings.CHARLA_MODEL_DIR


@pytest.fixture
def demo_bot(db, demo_definition):
    from intents.services import bot_load_definition

    return bot_load_definition(definition=demo_definition)


@pytest.fixture
def trained_demo_bot(demo_bot, demo_artifact):
    """The demo bot with its production model in place."""
    from intents.models import ModelVersion

    ModelVersion.objects.create(
        bot=demo_bot,
        version=1,
        stage=ModelVersion.Stage.PRODUCTION,
        encoder="all-MiniLM-L6-v2",
        data_fingerprint="test",
        artifact_path=str(demo_artifact),
    )
    return demo_bot


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, as the embedded default does, for tests that are not about the worker."""
    from chatbot.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def answers_in_process(settings):
    """The embedded transport: no REDIS_URL for the answer path, so a message is answered in this process once it
    commits (messages_answer_batch, as the answer workers call it). The channel layer stays the configured one."""
    settings.REDIS_URL = ""


@pytest.fixture(scope="module")
def stack_logs(request):
    """Logs of the processes a test module starts, kept under test-artifacts/ for a failed run."""
    path = ROOT / "test-artifacts" / "logs" / request.module.__name__.rsplit(".", 1)[-1]
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def web(django_db_setup, stack_logs):
    port = free_port()
    origins = f"http://127.0.0.1:8000,http://127.0.0.1:{port},http://localhost:{port}"
    process = start_daphne(port, stack_env({"CHARLA_ALLOWED_ORIGINS": origins}), stack_logs / "daphne.log")
    yield f"ws://127.0.0.1:{port}/ws/chat/demo/"
    stop(process)


@pytest.fixture(scope="module")
def worker_host(tmp_path_factory) -> dict[str, Path]:
    """The `worker`'s model storage folder and its own model cache: the worker stands for another host."""
    root = tmp_path_factory.mktemp("worker-host")
    return {"storage": root / "models", "cache": root / "cache"}


@pytest.fixture(scope="module")
def worker(django_db_setup, stack_logs, worker_host):
    """An answer worker (`manage.py answer_worker`), ready; it follows the bots and promotions each test makes."""
    host = {"CHARLA_MODEL_DIR": str(worker_host["storage"]), "CHARLA_MODEL_CACHE_DIR": str(worker_host["cache"])}
    env = stack_env(host)
    process = start_answer_worker(env, stack_logs / "answer-worker.log")
    yield process
    stop(process)


@pytest.fixture(scope="session", autouse=True)
def _empty_redis():
    """Start from an empty Redis database: tasks queued by an earlier, aborted run name rows that are gone."""
    import redis
    from django.conf import settings

    if settings.REDIS_URL:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session", autouse=True)
def _no_connection_left_at_the_end(django_db_setup, django_db_blocker):
    """The consumers' pool threads (`consumers.db_call`) keep their own connections to the test database; end
    them before pytest-django drops it, which otherwise fails: "database … is being accessed by other users"."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test_"):
        return  # SQLite, or no test of this session asked for the database (pytest-django then creates none)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel layer object per test: channels-redis binds its Redis connections to the event loop that
    opened them, and every async test (or async_to_sync call in a sync test) runs in a loop of its own."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
