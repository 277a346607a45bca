"""The load clients name why a conversation did not start or a post was refused (bench.tally.KINDS), against real
sockets."""

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


def test_a_rest_refusal_is_named_by_status_and_the_api_errors_code():
    """bench.rest_turns counts a refused post as `<status>:<code>` (503:busy), read from a real HTTP answer."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import requests

    from bench.rest_turns import _failure_kind

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps({"code": "busy", "message": "The bot is busy.", "retry_after": 2}).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "2")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = requests.post(f"http://127.0.0.1:{server.server_port}/webhooks/rest/webhook", json={}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert _failure_kind(response) == "503:busy"
