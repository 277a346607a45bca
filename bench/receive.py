"""CPU a stored visitor's message costs: message_receive in this process, and its PostgreSQL backend.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.receive --messages 600

Stores --messages messages round-robin over --conversations new conversations of the demo bot (after a warm-up
of 50), as the chat consumer's thread does, and reports CPU milliseconds per message of this process (the
service, psycopg, the stream entry and the metrics) and of the PostgreSQL backend serving it, read with psutil.
CPU time rather than wall time: on a shared machine the neighbours stretch wall time far more. The messages stay
pending; their stream entries wait in Redis for an answer_worker.
"""

import argparse
import json
import os
import time
import uuid

import psutil

WARMUP = 50


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("CHARLA_DEV", "1")
    import django

    django.setup()
    from django.db import connection

    from conversations.services import message_receive, session_open
    from intents.models import Bot

    bot = Bot.objects.get(slug="demo")
    sessions = [session_open(bot=bot, user_id=None, token=None, language="en") for _ in range(args.conversations)]

    def receive(n: int) -> None:
        for i in range(n):
            conversation = sessions[i % len(sessions)].conversation_id
            message_receive(conversation_id=conversation, text="where is my order?", client_id=uuid.uuid4().hex)

    receive(WARMUP)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0])
    me = psutil.Process()
    python, postgres, wall = cpu_seconds(me), cpu_seconds(backend), time.perf_counter()
    receive(args.messages)
    result = {
        "messages": args.messages,
        "python_cpu_ms": round(1000 * (cpu_seconds(me) - python) / args.messages, 3),
        "postgres_cpu_ms": round(1000 * (cpu_seconds(backend) - postgres) / args.messages, 3),
        "wall_ms": round(1000 * (time.perf_counter() - wall) / args.messages, 3),
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return result


if __name__ == "__main__":
    main()
