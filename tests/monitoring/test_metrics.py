"""/metrics: django-prometheus' series plus the product's own, recorded by daphne and a real answer worker into
Redis and exposed by any web process."""

import re
import urllib.request

import pytest
from channels.db import database_sync_to_async

from tests.live import open_chat

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def _scrape(url: str) -> dict[str, float]:
    """Every sample of an exposition, keyed `name{labels}` as printed."""
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if match := SAMPLE.match(line):
            labels = match["labels"]
            samples[f"{match['name']}{{{labels}}}" if labels else match["name"]] = float(match["value"])
    return samples


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status


def _delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_metrics_expose_the_product_series_after_real_turns(trained_demo_bot, web, worker):
    """Three turns through daphne and an answer worker move the received, answered and fallback counters, the
    latency and batch-size histograms by exactly those turns, beside the model version served, queue depths and
    pending turns; django-prometheus counts the page request (and not the scrapes). The live daphne answers
    /healthz and /readyz with 200."""
    from conversations.models import Message

    base = web.replace("ws://", "http://").split("/ws/")[0]
    url = base + "/metrics"
    before = await database_sync_to_async(_scrape)(url)
    await database_sync_to_async(lambda: urllib.request.urlopen(base + "/chat/demo/", timeout=30).close())()
    client, _ = await open_chat(web + "?lang=en")
    answers = [await client.say(text) for text in ("hello", "what are your opening hours?", "zzkq vlorp xjw")]
    await client.socket.close()
    fallbacks = sum(answer["intent"] == "fallback" for answer in answers)
    after = await database_sync_to_async(_scrape)(url)

    demo = 'bot="demo",language="en"'
    assert _delta(after, before, f"charla_messages_received_total{{{demo}}}") == 3
    assert _delta(after, before, f"charla_messages_answered_total{{{demo}}}") == 3
    assert _delta(after, before, f"charla_answers_fallback_total{{{demo}}}") == fallbacks == 1
    assert _delta(after, before, 'charla_answer_latency_seconds_count{bot="demo"}') == 3
    assert _delta(after, before, 'charla_answer_latency_seconds_bucket{bot="demo",le="+Inf"}') == 3
    assert 0 < _delta(after, before, 'charla_answer_latency_seconds_sum{bot="demo"}') < 60
    assert _delta(after, before, 'charla_worker_batch_size_bucket{le="1.0"}') == 3  # each turn waited for the last
    assert after['charla_model_version{bot="demo"}'] == 1
    assert after["charla_pending_turns"] == 0
    assert after['charla_queue_depth{queue="charla:inference"}'] == 0
    assert 'charla_queue_depth{queue="inference"}' not in after  # no Celery queue for answers any more
    assert after['charla_metrics_source_up{source="redis"}'] == 1
    assert after['charla_metrics_source_up{source="database"}'] == 1
    assert _delta(after, before, 'django_http_requests_total_by_method_total{method="GET"}') == 1  # the chat page
    stored = await database_sync_to_async(Message.objects.filter(role="bot").count)()
    assert stored == 3
    for probe in ("/healthz", "/readyz"):  # the same live stack is healthy and ready
        status = await database_sync_to_async(_status)(base + probe)
        assert (probe, status) == (probe, 200)


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_set(client, settings):
    """With CHARLA_METRICS_TOKEN set, a scrape without the bearer token (even from loopback) is a 403 JSON
    error, and one with it gets the exposition."""
    settings.CHARLA_METRICS_TOKEN = "scrape-secret"
    refused = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer other")
    assert wrong.status_code == 403
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret", REMOTE_ADDR="10.9.8.7")
    assert allowed.status_code == 200 and b"charla_pending_turns" in allowed.content


@pytest.mark.django_db
def test_metrics_without_a_token_are_for_the_allowed_addresses_only(client, settings):
    """No token: loopback (the default) and configured networks may scrape; any other address gets 403."""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 403
    settings.CHARLA_METRICS_ALLOWED_IPS = ["10.9.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200


@pytest.mark.django_db
def test_without_redis_the_counts_are_kept_and_exposed_by_the_process_itself(client, settings, demo_bot):
    """The embedded default (no REDIS_URL, tasks in-process): counts go to this process's memory and its
    /metrics shows them, labelled with the bot's slug; no queue depth is reported without Redis."""
    from conversations import metrics

    settings.REDIS_URL = ""
    key = 'charla_messages_received_total{bot="demo",language="es"}'

    def scrape() -> dict[str, float]:
        text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("charla_")}  # fmt: skip

    before = scrape()
    metrics.message_received(bot_id=demo_bot.pk, language="es")
    metrics.message_received(bot_id=demo_bot.pk, language="es")
    after = scrape()
    assert _delta(after, before, key) == 2
    assert not any(name.startswith("charla_queue_depth") for name in after)
