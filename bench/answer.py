"""CPU an answered turn costs the answer worker and its PostgreSQL backend, in this process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.answer --batch 4 --rounds 150

Each round stores --batch visitors' messages in as many conversations of the demo bot (message_receive, on a
thread and connection of their own, not measured), then does what `manage.py answer_worker` does with them: reads
them from the stream and answers them through the command's own `_answer` (the model, the dialogue step, the
transaction, the publish through the channel layer, the acknowledgement). Reported: CPU milliseconds per answered
turn of this process while it answers (the publish thread included) and of the PostgreSQL backend answering,
read with psutil. CPU time rather than wall time: on a shared machine the neighbours stretch wall time far more,
and unlike bench.stack no load shedding decides how many turns a run answers. Needs a Redis database of its own
(the run reads the whole answer stream) and the demo bot trained; nothing else may answer from that stream.
"""

import argparse
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil

WARMUP_ROUNDS = 10


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4, help="messages answered together (one per conversation)")
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("CHARLA_DEV", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    from conversations import inference
    from conversations.management.commands.answer_worker import Command
    from conversations.services import message_receive, session_open
    from intents.classifier import configure_threads
    from intents.models import Bot
    from intents.services import models_load_production

    configure_threads(settings.CHARLA_TORCH_THREADS)
    models_load_production()
    inference.group_ensure()
    worker = Command()
    consumer = f"bench-answer-{os.getpid()}"
    while inference.entries_read(consumer=consumer, count=1000, block_ms=0):
        pass  # whatever an earlier run left: it must not land in this run's batches
    inference.entries_done(inference.entries_claim(consumer=consumer, idle_s=0, count=1000))
    bot = Bot.objects.get(slug="demo")
    receiver = ThreadPoolExecutor(max_workers=1)  # one thread: its own connection, its own backend

    def sessions() -> list:
        return [session_open(bot=bot, user_id=None, token=None, language="en").conversation_id
                for _ in range(args.batch)]  # fmt: skip

    def receive(conversations: list) -> None:
        for conversation in conversations:
            message_receive(conversation_id=conversation, text="where is my order?", client_id=uuid.uuid4().hex)

    conversations = receiver.submit(sessions).result()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0])
    me = psutil.Process()
    python = postgres = wall = 0.0
    answered = 0
    for round_ in range(WARMUP_ROUNDS + args.rounds):
        receiver.submit(receive, conversations).result()
        before = (cpu_seconds(me), cpu_seconds(backend), time.perf_counter())
        entries = inference.entries_read(consumer=consumer, count=args.batch, block_ms=0)
        worker._answer(entries, [])
        if round_ >= WARMUP_ROUNDS:
            python += cpu_seconds(me) - before[0]
            postgres += cpu_seconds(backend) - before[1]
            wall += time.perf_counter() - before[2]
            answered += len(entries)
    receiver.submit(connections.close_all).result()  # the receiving thread's connection ends with the run
    receiver.shutdown()
    result = {
        "batch": args.batch,
        "answered": answered,
        "worker_cpu_ms": round(1000 * python / answered, 3),
        "postgres_cpu_ms": round(1000 * postgres / answered, 3),
        "wall_ms": round(1000 * wall / answered, 3),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return result


if __name__ == "__main__":
    main()
