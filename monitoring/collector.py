"""What `/metrics` adds to django-prometheus' series: the product's own, computed when Prometheus scrapes.

Counters and histograms come from the deployment-wide store of conversations.metrics; queue depths from Redis
(Celery's queue lists on the broker and the `charla:inference` stream); pending turns and the model versions
served from PostgreSQL. Every web process reports the same deployment-wide values: aggregate them with max(),
not sum(). A source that cannot be read is reported as `charla_metrics_source_up{source=…} 0` and its series
are left out, so a scrape never fails because Redis or the database is down.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from functools import cache

import redis
from django.conf import settings
from django.db import DatabaseError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from conversations import metrics
from conversations.inference import STREAM

from . import selectors

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue's messages of priority p > 0 in the list "<queue>\x06\x16<p>".
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_SEPARATOR = "\x06\x16"
COUNTERS = {
    "received": ("charla_messages_received", "Visitors' messages stored."),
    "answered": ("charla_messages_answered", "Bot answers stored (one per answered visitor message)."),
    "fallback": ("charla_answers_fallback", "Answers that were the fallback (the model was not confident)."),
}


class CharlaCollector(Collector):
    def describe(self) -> list[Metric]:
        return []  # nothing is read at registration: the database may not exist yet

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("charla_metrics_source_up", "Whether a source of these series could be read.",
                               labels=["source"])  # fmt: skip
        slugs: dict[int, str] = {}
        try:
            slugs = selectors.bot_slugs()
            yield from _database_series()
            up.add_metric(["database"], 1)
        except DatabaseError as error:
            logger.warning("metrics: database unreadable: %s", error)
            up.add_metric(["database"], 0)
        try:
            yield from _recorded_series(metrics.recorded(), slugs)
            if settings.REDIS_URL:
                yield _queue_depths()
            up.add_metric(["redis"], 1)
        except redis.RedisError as error:
            logger.warning("metrics: redis unreadable: %s", error)
            up.add_metric(["redis"], 0)
        yield up


def _database_series() -> Iterator[Metric]:
    count, oldest = selectors.pending_turns()
    yield GaugeMetricFamily("charla_pending_turns", "Visitors' messages waiting for an answer.", value=count)
    age = GaugeMetricFamily("charla_pending_turn_oldest_age_seconds",
                            "How long the oldest unanswered message has waited (0: none).",
                            value=(time.time() - oldest.timestamp()) if oldest else 0.0)  # fmt: skip
    yield age
    served = GaugeMetricFamily("charla_model_version", "The production model version each bot is served by.",
                               labels=["bot"])  # fmt: skip
    for model in selectors.production_models():
        served.add_metric([model.bot], model.version)
    yield served


def _recorded_series(recorded: dict[str, float], slugs: dict[int, str]) -> Iterator[Metric]:
    def bot(raw: str) -> str:
        return slugs.get(int(raw), raw) if raw.isdigit() else raw

    counters = {
        key: CounterMetricFamily(name, doc, labels=["bot", "language"]) for key, (name, doc) in COUNTERS.items()
    }
    latency: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    latency_sum: dict[str, float] = defaultdict(float)
    batch: dict[int, float] = defaultdict(float)
    shed = CounterMetricFamily("charla_messages_shed", "Visitors' messages refused, not stored, while the answer "
                               "queue was past capacity (busy).", labels=["channel"])  # fmt: skip
    for field, value in sorted(recorded.items()):
        kind, *labels = field.split("|")
        if kind in counters:
            counters[kind].add_metric([bot(labels[0]), labels[1]], value)
        elif kind == "latency":
            latency[bot(labels[0])][int(labels[1])] += value
        elif kind == "latency_sum":
            latency_sum[bot(labels[0])] += value
        elif kind == "batch":
            batch[int(labels[0])] += value
        elif kind == "shed":
            shed.add_metric([labels[0]], value)
    yield from counters.values()
    yield shed
    histogram = HistogramMetricFamily("charla_answer_latency_seconds",
                                      "From a visitor's message received to its answer committed.", labels=["bot"])
    for name, buckets in sorted(latency.items()):
        histogram.add_metric([name], _cumulative(metrics.LATENCY_BUCKETS, buckets), latency_sum[name])
    yield histogram
    sizes = HistogramMetricFamily("charla_worker_batch_size", "Messages classified in one forward pass.")
    if batch:
        sizes.add_metric([], _cumulative(metrics.BATCH_BUCKETS, batch), recorded.get("batch_sum", 0.0))
    yield sizes


def _cumulative(bounds: tuple[float, ...], counts: dict[int, float]) -> list[tuple[str, float]]:
    total, buckets = 0.0, []
    for index, bound in enumerate([*bounds, float("inf")]):
        total += counts.get(index, 0.0)
        buckets.append((floatToGoString(bound), total))
    return buckets


def _queue_depths() -> Metric:
    """Celery's queues on the broker (every priority list) and the batched answers' Redis stream."""
    depth = GaugeMetricFamily("charla_queue_depth", "Messages waiting in a queue (Celery queue or Redis stream).",
                              labels=["queue"])  # fmt: skip
    queues = sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *(r["queue"] for r in settings.CELERY_TASK_ROUTES.values())})
    pipe = _client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
    for queue in queues:
        for step in PRIORITY_STEPS:
            pipe.llen(queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    for index, queue in enumerate(queues):
        depth.add_metric([queue], sum(lengths[index * len(PRIORITY_STEPS):(index + 1) * len(PRIORITY_STEPS)]))
    depth.add_metric([STREAM], _client(settings.REDIS_URL).xlen(STREAM))
    return depth


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
