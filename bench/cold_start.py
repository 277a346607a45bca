"""The first answer after an answer worker starts, beside the answers that follow it, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.cold_start --rounds 3 --follow 5 --json bench/results/cold_start.json

Each round starts one fresh `manage.py answer_worker` (stop any other first: it would take the messages), waits
for its `ready` log line, then stores a message (a new conversation, through `message_receive`, as daphne does) and,
once it is answered, --follow more, one at a time. Every latency is read from the message's stored stage stamps
(received → answer stored), so the figures are the worker's, not this process's polling. Reports, per round, the
seconds from the worker's start to ready, and the first answer's latency beside the median of the following ones
(the baseline of the same round): `first_over_following` is what a cold start costs a visitor.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ("hello", "what are your opening hours?", "where is my order?", "thanks", "who are you?")


def answered(message_id: int, timeout: float) -> dict:
    """The message's stored stage stamps, once its answer is stored."""
    from conversations.models import Message

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.get(pk=message_id)
        if message.status != Message.Status.PENDING:
            return message.timings
        time.sleep(0.01)
    raise TimeoutError(f"message {message_id} not answered in {timeout} s")


def one_round(bot, follow: int, logs: Path, index: int) -> dict:
    from conversations.services import message_receive, session_open
    from tests.live import start_answer_worker, stop

    started = time.monotonic()
    worker = start_answer_worker(dict(os.environ), logs / f"cold-start-{index}.log")
    ready_s = time.monotonic() - started
    try:
        session = session_open(bot=bot, user_id=None, token=None, language="en")
        latencies, loads = [], []
        for n in range(1 + follow):
            message, _ = message_receive(conversation_id=session.conversation_id, text=TEXTS[n % len(TEXTS)],
                                         client_id=f"cold{index}-{n}")  # fmt: skip
            timings = answered(message.pk, timeout=120)
            latencies.append((timings["answer_stored"] - timings["received"]) * 1000)
            loads.append(timings.get("model_load_s", 0.0))
    finally:
        stop(worker)
    following = statistics.median(latencies[1:])
    return {"ready_s": round(ready_s, 2), "first_ms": round(latencies[0], 1), "following_p50_ms": round(following, 1),
            "first_over_following": round(latencies[0] / following, 2), "model_load_s_in_answers": sum(loads)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--follow", type=int, default=5, help="answers after the first, one at a time")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        parser.error("set DATABASE_URL and REDIS_URL (a database and Redis db of their own: the run writes to them)")
    if not 1 <= args.rounds <= 20 or not 1 <= args.follow <= 50:
        parser.error("bounded runs only: 1 ≤ --rounds ≤ 20, 1 ≤ --follow ≤ 50")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    for command in (["migrate", "--noinput"], ["load_demo_bot"], ["train_intents", "--bot", "demo", "--if-changed"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    import django

    django.setup()
    from intents.models import Bot

    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bot = Bot.objects.get(slug="demo")
    rounds = [one_round(bot, args.follow, logs, n) for n in range(args.rounds)]
    result = {"config": vars(args), "rounds": rounds,
              "first_over_following_p50": statistics.median(r["first_over_following"] for r in rounds)}  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
