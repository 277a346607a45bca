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


def _probe(probe: str, env: dict[str, str]) -> str:
    """The last line `probe` prints, in a fresh process with only `env`'s service settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "chatbot.settings", **env},
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _settings_with(env: dict[str, str]) -> dict:
    return json.loads(_probe(PROBE, env))


def test_nothing_configured_means_sqlite_in_memory_layer_and_in_process_tasks():
    """With no DATABASE_URL or REDIS_URL the chatbot needs no services."""
    assert _settings_with({}) == {
        "db": "django.db.backends.sqlite3",
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
    }


def test_configured_services_mean_postgresql_redis_layer_and_workers():
    """With both URLs set, messages go through PostgreSQL, the Redis answer stream and channel layer, and Celery
    runs its jobs in workers, not in-process."""
    assert _settings_with(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    ) == {
        "db": "chatbot.postgres",
        "layer": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "eager": False,
    }


PREFIX_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps(settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']))"
)


def test_deployments_on_two_databases_of_one_redis_do_not_hear_each_other():
    """Redis pub/sub ignores the database number, so the layer's prefix carries it: a group send on database 13
    does not reach a socket of the same group on database 14 (the console group has one name everywhere)."""
    import asyncio

    from channels_redis.pubsub import RedisPubSubChannelLayer

    prefixes = [
        json.loads(_probe(PREFIX_PROBE, {"REDIS_URL": f"redis://127.0.0.1:6379/{db}"})) for db in (13, 14)
    ]
    assert prefixes == ["charla.db13", "charla.db14"]

    async def cross_talk() -> tuple[dict, bool]:
        here, there = (RedisPubSubChannelLayer(hosts=[f"redis://127.0.0.1:6379/{db}"], prefix=p)
                       for db, p in zip((14, 13), prefixes, strict=True))  # fmt: skip
        channel = await here.new_channel()
        await here.group_add("console", channel)
        await there.group_send("console", {"type": "queue", "from": "there"})
        await here.group_send("console", {"type": "queue", "from": "here"})
        first = await asyncio.wait_for(here.receive(channel), 10)
        try:
            await asyncio.wait_for(here.receive(channel), 1)
            more = True
        except TimeoutError:
            more = False
        await here.flush()
        await there.flush()
        return first, more

    first, more = asyncio.run(cross_talk())
    assert first == {"type": "queue", "from": "here"} and not more


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
           "CHARLA_MODEL_DIR": str(tmp_path / "models"), "CHARLA_MODEL_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", EMBEDDED_TURN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"status": "answered", "intent": "greet", "reply_seq": 2}


MODEL_STORAGE_PROBE = (
    "import json, django; django.setup(); from django.core.files.storage import storages; "
    "from django.core.cache import caches; s = storages['models']; "
    "print(json.dumps([type(s).__name__, s.bucket_name, s.location, s.endpoint_url, s.addressing_style, "
    "s.file_overwrite, s.default_acl, type(caches['ratelimit']).__name__]))"
)


def test_the_model_storage_is_an_s3_bucket_configured_from_the_environment_alone():
    """CHARLA_MODEL_STORAGE=s3: STORAGES["models"] is django-storages' S3Storage built from CHARLA_MODEL_S3_*
    (credentials stay boto3's own variables); with REDIS_URL the rate-limit counters are in Redis."""
    env = {"CHARLA_MODEL_STORAGE": "s3", "CHARLA_MODEL_S3_BUCKET": "charla-models", "CHARLA_MODEL_S3_PREFIX": "prod",
           "CHARLA_MODEL_S3_ENDPOINT_URL": "http://127.0.0.1:9000", "CHARLA_MODEL_S3_ADDRESSING_STYLE": "path",
           "REDIS_URL": "redis://127.0.0.1:6379/8"}  # fmt: skip
    assert json.loads(_probe(MODEL_STORAGE_PROBE, env)) == [
        "S3Storage", "charla-models", "prod", "http://127.0.0.1:9000", "path", True, None, "RedisCache",
    ]  # fmt: skip
