"""CPU a stored visitor's message costs: message_receive in this process, and its PostgreSQL backend.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.receive --messages 600

Stores --messages messages round-robin over --conversations new conversations of the demo bot (after a warm-up
of 50), as the chat consumer's thread does, and reports CPU milliseconds per message of this process (the
service, psycopg, the stream entry and the metrics) and of the PostgreSQL backend serving it, read with psutil.
CPU time rather than wall time: on a shared machine the neighbours stretch wall time far more. The messages stay
pending; their stream entries wait in Redis for an answer_worker.
"""

import time

from bench.inprocess import arguments, demo_conversations, django_setup, messages_receive, report

WARMUP = 50


def main(argv: list[str] | None = None) -> dict:
    parser = arguments(__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args(argv)
    django_setup()
    from bench.cpu import connection_backend, cpu_seconds, cpu_seconds_spent, this_process

    conversations = demo_conversations(args.conversations)
    messages_receive(conversations, WARMUP)
    parts = {"python": this_process(), "postgres": connection_backend()}
    before, wall = cpu_seconds(parts), time.perf_counter()
    messages_receive(conversations, args.messages)
    spent = cpu_seconds_spent(before, cpu_seconds(parts))
    result = {
        "messages": args.messages,
        "python_cpu_ms": round(1000 * spent["python"] / args.messages, 3),
        "postgres_cpu_ms": round(1000 * spent["postgres"] / args.messages, 3),
        "wall_ms": round(1000 * (time.perf_counter() - wall) / args.messages, 3),
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
