"""A visitor who sends two messages back to back: how long the second answer waits behind the first.

    .venv/bin/python -m bench.quick_pair --url ws://127.0.0.1:8000/ws/chat/demo/ --pairs 20 --json out.json

Each pair is a new conversation: "hello" and "what are your opening hours?" sent without waiting. The second
is answered only after the first (answers keep seq order), so its wait is measured against the first answer
of the same pair, the baseline of this run. The first `--warmup` pairs are not counted. Only 127.0.0.1 targets.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import websockets

from bench.chat_load import LOCAL_HOSTS

TEXTS = ("hello", "what are your opening hours?")


async def pair(url: str, origin: str, index: int, timeout: float) -> dict:
    """Send both messages at once; the milliseconds from the first send to each answer, in answer order."""
    async with websockets.connect(url, origin=origin, open_timeout=30) as socket:
        json.loads(await socket.recv())  # the session frame
        started = time.perf_counter()
        for n, text in enumerate(TEXTS):
            await socket.send(json.dumps({"type": "message", "client_id": f"pair{index}-{n}", "text": text}))
        answers = []
        while len(answers) < len(TEXTS):
            frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if frame.get("type") == "message" and frame.get("role") == "bot":
                answers.append({"reply_to": frame["reply_to"], "ms": (time.perf_counter() - started) * 1000})
        return {
            "reply_to": [a["reply_to"] for a in answers],
            "first_ms": answers[0]["ms"],
            "second_ms": answers[1]["ms"],
        }


def summarize(pairs: list[dict]) -> dict:
    first = [p["first_ms"] for p in pairs]
    second = [p["second_ms"] for p in pairs]
    gap = [s - f for f, s in zip(first, second, strict=True)]
    in_order = sum(p["reply_to"] == sorted(p["reply_to"]) for p in pairs)
    return {
        "pairs": len(pairs),
        "in_order": in_order,
        "first_answer_p50_ms": round(statistics.median(first), 1),
        "second_answer_p50_ms": round(statistics.median(second), 1),
        "second_after_first_p50_ms": round(statistics.median(gap), 1),
        "second_over_first": round(statistics.median(second) / statistics.median(first), 2),
    }


async def run(args: argparse.Namespace) -> dict:
    results = [await pair(args.url, args.origin, n, args.timeout) for n in range(args.warmup + args.pairs)]
    return summarize(results[args.warmup :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/chat/demo/")
    parser.add_argument("--origin", default="http://127.0.0.1:8000")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOCAL_HOSTS:
        parser.error("load tests target 127.0.0.1 only")
    summary = asyncio.run(run(args))
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    sys.exit(0 if summary["in_order"] == summary["pairs"] else 1)


if __name__ == "__main__":
    main()
