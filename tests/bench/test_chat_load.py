"""The load client names why a conversation did not start (bench.tally.KINDS), against real sockets."""

import asyncio

from bench.chat_load import connect
from tests.live import free_port

ORIGIN = "http://127.0.0.1:8000"


def test_a_closed_port_is_connect_refused():
    """Nothing listens: the TCP connection is refused, and that is the kind."""
    assert asyncio.run(connect(f"ws://127.0.0.1:{free_port()}/ws/chat/demo/", ORIGIN)) == "connect_refused"


def test_a_handshake_answered_with_an_http_status_is_rejected_with_that_status():
    """A server that answers the upgrade with 403 (a proxy, a wrong path): handshake_rejected:403."""

    async def scenario() -> str:
        async def forbid(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(forbid, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await connect(f"ws://127.0.0.1:{port}/ws/chat/demo/", ORIGIN)

    assert asyncio.run(scenario()) == "handshake_rejected:403"
