"""/healthz and /readyz against the real PostgreSQL, Redis and answer workers: ready only when every part is, naming
what fails."""

import json
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from intents.models import ModelVersion
from tests.live import (
    answer_workers_holding,
    free_port,
    stack_env,
    start_answer_worker,
    start_daphne,
    stop,
    wait_for_port,
)


def _redis_server(port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process)
    return process


def test_healthz_answers_without_touching_the_database(client, settings):
    """/healthz is 200 for any Host and over plain HTTP, even with HTTPS redirects on: no database access
    (pytest-django refuses any here), no host validation for the probes of a load balancer."""
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db(transaction=True)
def test_readyz_is_200_with_each_part_named_when_everything_works(client, trained_demo_bot, worker):
    """Database and Redis reachable, the demo bot's production model loadable and held by a ready answer worker:
    200 and every part's status."""
    answer_workers_holding(ModelVersion.objects.get(bot=trained_demo_bot).pk)
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert (report["status"], report["failing"]) == ("ok", [])
    assert set(report["checks"]) == {"database", "redis", "models", "answer_workers"}
    assert report["checks"]["models"]["detail"]["served"] == {"demo": 1}
    assert report["checks"]["answer_workers"]["detail"]["versions"] == {"demo": [1]}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_redis_while_redis_is_down(client, settings, trained_demo_bot, stack_logs):
    """With the deployment's Redis stopped, /readyz is 503 and names redis (and the answer workers, whose
    heartbeats it holds); back to 200 once Redis is back and the worker has announced itself again. /metrics
    still answers meanwhile, reporting the Redis source as down, and recording a metric does not raise in the
    answer path."""
    from conversations import metrics

    port = free_port()
    log = stack_logs / "redis-readyz.log"
    redis = _redis_server(port, log)
    settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    version = ModelVersion.objects.get(bot=trained_demo_bot).pk
    worker = start_answer_worker(stack_env({"REDIS_URL": settings.REDIS_URL}), stack_logs / "answer-worker-readyz.log")
    try:
        answer_workers_holding(version)
        assert client.get("/readyz").status_code == 200
        stop(redis)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == ["redis", "answer_workers"]
        assert "redis" in response.json()["checks"] and not response.json()["checks"]["redis"]["ok"]
        metrics.message_received(bot_id=trained_demo_bot.pk, language="en")  # logged and dropped, not raised
        scrape = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert scrape.status_code == 200
        assert 'charla_metrics_source_up{source="redis"} 0.0' in scrape.content.decode()
        redis = _redis_server(port, log)
        answer_workers_holding(version)
        assert client.get("/readyz").status_code == 200
    finally:
        stop(worker)
        stop(redis)


@pytest.mark.django_db
def test_readyz_is_503_naming_the_bot_whose_model_is_missing(client, trained_demo_bot, demo_artifact, tmp_path):
    """A production version whose artifact is gone (a lost volume) makes /readyz 503 and names the bot."""
    artifact = tmp_path / "demo-v1"
    shutil.copytree(demo_artifact, artifact)
    trained_demo_bot.model_versions.update(artifact_path=str(artifact))
    assert client.get("/readyz").json()["checks"]["models"]["ok"]
    shutil.rmtree(artifact)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["models", "answer_workers"]  # no worker sees this test's uncommitted bot
    assert list(response.json()["checks"]["models"]["detail"]["unloadable"]) == ["demo"]


@pytest.mark.django_db
def test_readyz_is_503_when_no_bot_has_a_model(client, demo_bot):
    """A deployment that was never trained cannot answer anyone: not ready."""
    response = client.get("/readyz")
    assert (response.status_code, response.json()["failing"]) == (503, ["models"])


def test_daphne_in_production_settings_serves_probes_and_names_an_unreachable_database(django_db_setup, stack_logs):
    """A production-configured daphne (no debug, a real key, a public host name, HTTPS redirect) answers
    /healthz 200 on its container address, and /readyz 503 naming the database it cannot reach."""
    dead_port = free_port()  # nothing listens there
    env = stack_env({
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead_port}/charla", "DJANGO_DEBUG": "false",
        "CHARLA_DEV": "0", "DJANGO_SECRET_KEY": "k" * 20 + "-production-test-key-not-a-real-one-0123456789",
        "DJANGO_ALLOWED_HOSTS": "chat.example.com", "DJANGO_SECURE_SSL_REDIRECT": "true",
    })  # fmt: skip
    port = free_port()
    daphne = start_daphne(port, env, stack_logs / "daphne-production.log")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert failure.value.code == 503
        report = json.loads(failure.value.read())
        assert report["failing"] == ["database", "models", "answer_workers"]
        assert report["checks"]["models"]["detail"] == "not checked: the database is down"
    finally:
        stop(daphne)


@pytest.mark.django_db
def test_readyz_stays_ready_while_the_workers_pick_up_a_promotion(client, trained_demo_bot):
    """A ready worker that still holds the bot's previous version (its heartbeat, written by the function the
    worker uses, names a version that is not the production one) is loading the promoted one: /readyz is 200 and
    lists it under `loading`, rather than taking every web replica out of the load balancer at each promotion.
    A worker holding only another bot's model does not count."""
    from conversations import inference

    production = ModelVersion.objects.get(bot=trained_demo_bot)
    previous = production.pk + 100_000  # not a production version: what a worker holds until it swaps
    inference.heartbeat(consumer="test-previous", ready_at=0.0, versions={trained_demo_bot.pk: previous})
    try:
        response = client.get("/readyz")
        workers = response.json()["checks"]["answer_workers"]
        assert response.status_code == 200 and workers["ok"]
        assert workers["detail"]["loading"] == ["demo v1"] and workers["detail"]["versions"] == {}
        inference.heartbeat(consumer="test-previous", ready_at=0.0, versions={trained_demo_bot.pk + 1: previous})
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["failing"] == ["answer_workers"]
        assert "demo v1" in response.json()["checks"]["answer_workers"]["detail"]["error"]
    finally:
        inference.heartbeat_end(consumer="test-previous")
