"""What recording the product's metrics costs the chat path, against a Redis round trip measured in the same run.

    REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python -m bench.metrics_overhead --calls 2000 --json out.json

Times `conversations.metrics.message_received` (daphne, once per visitor message) and `answers_observe` for a
batch of 1 and of 32 answers (the worker, once per `replies_store` call), each called after commit in the real
path. The baseline is a Redis PING on a client configured the same way: the recording is one pipelined round
trip, so its cost over a PING is the Python around it. Writes the hash `charla:metrics` of that Redis database
(use one of its own; the run deletes the hash at the end). Only 127.0.0.1 Redis servers.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlparse


def _timed(function, calls: int) -> list[float]:
    """Microseconds per call, one sample per call."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def _replies(count: int) -> list[SimpleNamespace]:
    """Stand-ins with the attributes answers_observe reads from bot Message rows."""
    message = SimpleNamespace(timings={"received": time.time() - 0.02}, created_at=datetime.now(UTC))
    return [SimpleNamespace(conversation=SimpleNamespace(bot_id=1), language="en", intent="greet", reply_to=message)
            for _ in range(count)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "")
    if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("set REDIS_URL to a Redis database on 127.0.0.1 of its own")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()
    from conversations import metrics

    client = metrics._client(url)
    one, batch = _replies(1), _replies(32)
    cases = {
        "redis_ping (baseline)": lambda: client.ping(),
        "message_received": lambda: metrics.message_received(bot_id=1, language="en"),
        "answers_observe, 1 answer": lambda: metrics.answers_observe(replies=one, batch=1),
        "answers_observe, 32 answers": lambda: metrics.answers_observe(replies=batch, batch=32),
    }
    for function in cases.values():  # warm up connections and code paths
        _timed(function, 50)
    # Interleaved rounds, so that drift on a shared machine hits every case alike.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(10):
        for name, function in cases.items():
            samples[name] += _timed(function, max(1, args.calls // 10))
    client.delete(metrics.KEY)
    baseline = statistics.median(samples["redis_ping (baseline)"])
    result = {name: {"p50_us": round(statistics.median(values), 1),
                     "p99_us": round(statistics.quantiles(values, n=100)[98], 1),
                     "p50_over_ping": round(statistics.median(values) / baseline, 2)}
              for name, values in samples.items()}  # fmt: skip
    print(f"{'case':32} {'p50 µs':>8} {'p99 µs':>8} {'p50 / PING':>10}")
    for name, row in result.items():
        print(f"{name:32} {row['p50_us']:8.1f} {row['p99_us']:8.1f} {row['p50_over_ping']:10.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"calls": args.calls, "results": result}, fh, indent=2)


if __name__ == "__main__":
    sys.exit(main())
