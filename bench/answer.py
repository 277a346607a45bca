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

import os
import time
from concurrent.futures import ThreadPoolExecutor

from bench.inprocess import arguments, demo_conversations, django_setup, messages_receive, report

WARMUP_ROUNDS = 10


def main(argv: list[str] | None = None) -> dict:
    parser = arguments(__doc__)
    parser.add_argument("--batch", type=int, default=4, help="messages answered together (one per conversation)")
    parser.add_argument("--rounds", type=int, default=150)
    args = parser.parse_args(argv)
    django_setup()
    from django.conf import settings
    from django.db import connections

    from bench.cpu import connection_backend, cpu_seconds, cpu_seconds_spent, this_process
    from conversations import inference
    from conversations.management.commands.answer_worker import Command
    from intents.classifier import configure_threads
    from intents.services import models_load_production

    configure_threads(settings.CHARLA_TORCH_THREADS)
    models_load_production()
    inference.group_ensure()
    worker = Command()
    consumer = f"bench-answer-{os.getpid()}"
    while inference.entries_read(consumer=consumer, count=1000, block_ms=0):
        pass  # whatever an earlier run left: it must not land in this run's batches
    inference.entries_done(inference.entries_claim(consumer=consumer, idle_s=0, count=1000))
    receiver = ThreadPoolExecutor(max_workers=1)  # one thread: its own connection, its own backend
    conversations = receiver.submit(demo_conversations, args.batch).result()
    parts = {"worker": this_process(), "postgres": connection_backend()}
    spent = {"worker": 0.0, "postgres": 0.0}
    wall = 0.0
    answered = 0
    for round_ in range(WARMUP_ROUNDS + args.rounds):
        receiver.submit(messages_receive, conversations, len(conversations)).result()
        before, started = cpu_seconds(parts), time.perf_counter()
        entries = inference.entries_read(consumer=consumer, count=args.batch, block_ms=0)
        worker._answer(entries, [])
        if round_ >= WARMUP_ROUNDS:
            for part, seconds in cpu_seconds_spent(before, cpu_seconds(parts)).items():
                spent[part] += seconds
            wall += time.perf_counter() - started
            answered += len(entries)
    receiver.submit(connections.close_all).result()  # the receiving thread's connection ends with the run
    receiver.shutdown()
    result = {
        "batch": args.batch,
        "answered": answered,
        "worker_cpu_ms": round(1000 * spent["worker"] / answered, 3),
        "postgres_cpu_ms": round(1000 * spent["postgres"] / answered, 3),
        "wall_ms": round(1000 * wall / answered, 3),
        "load_average": os.getloadavg()[0],
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
