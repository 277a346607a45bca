"""Settings come from the environment, with embedded defaults that run on a bare machine."""

import json
import os
import subprocess
import sys

from tests.live import ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'eager': settings.CELERY_TASK_ALWAYS_EAGER}))"
)


def _settings_with(env: dict[str, str]) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "chatbot.settings", **env},
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_nothing_configured_means_sqlite_in_memory_layer_and_in_process_tasks():
    """With no DATABASE_URL or REDIS_URL the chatbot needs no services."""
    assert _settings_with({}) == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
    }


def test_configured_services_mean_postgresql_redis_layer_and_workers():
    """With both URLs set, messages go through PostgreSQL, the Redis channel layer and Celery workers."""
    assert _settings_with(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    ) == {
        "db": "django.db.backends.postgresql",
        "layer": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "eager": False,
    }


EMBEDDED_TURN = """
import json, django
django.setup()
from django.core.management import call_command
for command, options in (("migrate", {}), ("load_demo_bot", {}), ("train_intents", {"bot": "demo"})):
    call_command(command, verbosity=0, **options)
from intents.models import Bot
from conversations.services import message_receive, session_open
session = session_open(bot=Bot.objects.get(slug="demo"), user_id=None, token=None, language="en")
message, _ = message_receive(conversation_id=session.conversation_id, text="hello", client_id="1")
message.refresh_from_db()
print(json.dumps({"status": message.status, "intent": message.reply.intent, "reply_seq": message.reply.seq}))
"""


def test_a_message_is_answered_with_the_embedded_defaults(tmp_path):
    """`make run` with nothing configured: SQLite and in-process tasks store a message and answer it."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env = {**base, "DJANGO_SETTINGS_MODULE": "chatbot.settings", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
           "CHARLA_MODEL_DIR": str(tmp_path / "models")}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", EMBEDDED_TURN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"status": "answered", "intent": "greet", "reply_seq": 2}
