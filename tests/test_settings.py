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
        "layer": "channels_redis.core.RedisChannelLayer",
        "eager": False,
    }
