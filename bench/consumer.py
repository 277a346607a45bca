"""CPU the web process spends to accept a visitor's message: the chat consumer in this process, and PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.consumer --messages 1000

Opens --sockets chat sockets to the demo bot through the ASGI application (Channels' in-process communicator:
the consumer, its thread hops, the rate limit, message_receive, the stream entry, the metrics and the `ack` and
`typing` frames; not daphne's WebSocket framing), sends --messages messages round-robin over them, each
awaited until its `ack` and `typing` frames came, and reports CPU milliseconds per message of this process and
of the database's PostgreSQL backends, read with psutil (CPU time: on a shared machine the neighbours stretch
wall time far more). The default settings apply, except the two limits one load generator would trip: new
visitors per address and load shedding (the messages stay pending: no answer_worker runs).
"""

import asyncio
import os
import time
import uuid
from urllib.parse import urlparse

from bench.inprocess import TEXT, arguments, django_setup, report

WARMUP = 100
ORIGIN = "http://127.0.0.1:8000"


async def run(sockets: int, messages: int) -> dict:
    from channels.testing import WebsocketCommunicator

    from bench.cpu import cpu_ms_per_turn, cpu_seconds, postgres_backends, this_process
    from chatbot.asgi import application

    clients = []
    for _ in range(sockets):
        client = WebsocketCommunicator(application, "/ws/chat/demo/", headers=[(b"origin", ORIGIN.encode())])
        connected, _ = await client.connect(timeout=30)
        assert connected
        assert (await client.receive_json_from(timeout=30))["type"] == "session"
        clients.append(client)

    async def send(n: int) -> None:
        for i in range(0, n, sockets):
            batch = clients[: min(sockets, n - i)]
            for client in batch:
                frame = {"type": "message", "text": TEXT, "client_id": uuid.uuid4().hex}
                await client.send_json_to(frame)
            for client in batch:
                assert (await client.receive_json_from(timeout=30))["type"] == "ack"
                assert (await client.receive_json_from(timeout=30))["type"] == "typing"

    await send(WARMUP)
    parts = {"web": this_process(), "postgres": postgres_backends(urlparse(os.environ["DATABASE_URL"]).path[1:])}
    before, wall = cpu_seconds(parts), time.perf_counter()
    await send(messages)
    spent = cpu_ms_per_turn(before, cpu_seconds(parts), messages)
    result = {"messages": messages, "sockets": sockets, "cpu_ms_per_message": spent,
              "wall_ms": round(1000 * (time.perf_counter() - wall) / messages, 3)}  # fmt: skip
    for client in clients:
        await client.disconnect()
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = arguments(__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--sockets", type=int, default=20)
    args = parser.parse_args(argv)
    django_setup(CHARLA_ALLOWED_ORIGINS=ORIGIN, CHARLA_RATE_CHAT_VISITORS="off", CHARLA_BUSY_QUEUE_AGE_MS="0")
    return report(asyncio.run(run(args.sockets, args.messages)), args.json)


if __name__ == "__main__":
    main()
