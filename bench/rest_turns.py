"""REST-channel turns beside WebSocket turns, against one stack in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.rest_turns --senders 4 --duration 15 --json bench/results/rest_turns.json

Starts daphne and answer workers (bench.stack), then runs the same closed loop twice: --senders conversations,
each sending its next message when the previous one is answered, over the chat socket (bench.chat_load) and over
POST /webhooks/rest/webhook (one HTTP connection per sender, an API key of the demo bot). Reports p50/p99 of
each and their ratios; the WebSocket run is the baseline. Everything binds to 127.0.0.1.
"""

import argparse
import itertools
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench import chat_load
from bench.stack import ROOT, manage, stack
from bench.tally import percentile


def api_key() -> str:
    import django

    django.setup()
    from intents.selectors import bot_get
    from intents.services import api_key_create

    return api_key_create(bot=bot_get(slug="demo"), name=f"bench {uuid.uuid4().hex[:6]}")[1]


def rest_run(*, base: str, key: str, senders: int, seconds: float, warmup: float) -> dict:
    """Each sender posts its next text when the previous answer came back; latencies of the measured window."""
    texts = itertools.cycle(chat_load.TEXTS)
    lock = threading.Lock()
    latencies: list[float] = []
    failures: dict[str, int] = {}
    start = time.monotonic()
    measure_from, deadline = start + warmup, start + warmup + seconds

    def sender(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        name = f"bench-{uuid.uuid4().hex[:8]}-{n}"
        while (sent := time.monotonic()) < deadline:
            with lock:
                text = next(texts)
            try:
                response = session.post(f"{base}/webhooks/rest/webhook", json={"sender": name, "message": text},
                                        timeout=60)  # fmt: skip
                kind = None if response.status_code == 200 and len(response.json()) == 1 else _failure_kind(response)
            except requests.RequestException as error:
                kind = type(error).__name__  # ConnectionError, ReadTimeout…
            elapsed = (time.monotonic() - sent) * 1000
            with lock:
                if kind is not None:
                    failures[kind] = failures.get(kind, 0) + 1
                elif sent >= measure_from:
                    latencies.append(elapsed)

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(sender, range(senders)))
    return {
        "answered": len(latencies), "failures": failures, "throughput": round(len(latencies) / seconds, 2),
        "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
    }  # fmt: skip


def _failure_kind(response: requests.Response) -> str:
    """`<status>:<the API error's code>` (503:busy, 429:throttled, 504:reply_timeout…), or the status alone."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return f"{response.status_code}:{code}" if code else str(response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=4, help="conversations in flight, one message each")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds of each run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="answer worker processes")
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--skip-setup", action="store_true", help="the database is migrated and the demo trained")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        parser.error("set DATABASE_URL and REDIS_URL (a database and Redis db of its own: the run writes to them)")
    if args.duration > 300 or args.senders > 200:
        parser.error("bounded runs only: --duration ≤ 300, --senders ≤ 200")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    if not args.skip_setup:
        for command in (
            ["migrate", "--noinput"],
            ["load_demo_bot"],
            ["train_intents", "--bot", "demo", "--if-changed"],
        ):
            manage(*command, env=dict(os.environ))
    key = api_key()
    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with stack("batched", args.workers, args.port, logs) as (urls, _):
        websocket = chat_load.main(["--url", urls[0], "--conversations", str(args.senders), "--closed",
                                    "--rate", "1000", "--duration", str(args.duration),
                                    "--warmup", str(args.warmup)])  # fmt: skip
        rest = rest_run(base=f"http://127.0.0.1:{args.port}", key=key, senders=args.senders,
                        seconds=args.duration, warmup=args.warmup)  # fmt: skip
    result = {
        "config": vars(args),
        "websocket": {k: websocket[k] for k in ("answered", "refused", "lost", "duplicated", "out_of_order",
                                                "failures", "throughput", "p50_ms", "p99_ms")},  # fmt: skip
        "rest": rest,
    }
    result["ratios"] = {
        "rest_p50_over_websocket_p50": round(rest["p50_ms"] / websocket["p50_ms"], 2),
        "rest_p99_over_websocket_p99": round(rest["p99_ms"] / websocket["p99_ms"], 2),
        "rest_throughput_over_websocket": round(rest["throughput"] / websocket["throughput"], 2),
    }
    print(json.dumps({k: result[k] for k in ("websocket", "rest", "ratios")}, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
