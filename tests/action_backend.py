"""The customer's backend for action tests: a real HTTP server on 127.0.0.1, the one thing out of Charla's reach."""

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intents.models import Intent, Response

SECRET = "s3cret-for-tests"


class Backend(BaseHTTPRequestHandler):
    """The customer's backend: records every call; its answer depends on the last path segment."""

    calls: list[dict] = []
    held = threading.Event()  # set when the first "hold" call arrives; it is answered once `release` is set
    release = threading.Event()
    probe: Callable[[dict], dict] = staticmethod(lambda payload: {})  # the "probe" path's answer, set by a test

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
        behaviour = self.path.rsplit("/", 1)[-1]
        if behaviour == "hold" and not self.held.is_set():
            self.held.set()
            self.release.wait(60)
            return self._answer(200, b'{"text": "Too late: the caller is gone."}')
        if behaviour == "hold":
            return self._answer(200, b'{"text": "Done once."}')
        if behaviour == "probe":
            return self._answer(200, json.dumps(self.probe(json.loads(body))).encode())
        if behaviour == "slow":
            time.sleep(2)
            return self._answer(200, b"{}")
        if behaviour == "error":
            return self._answer(500, b'{"detail": "database is down"}')
        if behaviour == "garbage":
            return self._answer(200, b"<html>It works!</html>")
        if behaviour == "shape":
            return self._answer(200, b'{"text": 5}')
        slots = json.loads(body)["slots"]
        if "ref" in slots:
            answer = {"text": f"Still {slots['ref']}.", "buttons": [{"title": "Thanks", "payload": "/thanks"}]}
        else:
            answer = {"slots": {"ref": "R-42"}}
        self._answer(200, json.dumps(answer).encode())

    def _answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the caller was killed while waiting
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/actions/"
    server.shutdown()


@pytest.fixture
def hours_action(trained_demo_bot, backend):
    """opening_hours calls an action; its English response names the slot `ref` the backend sets."""
    Backend.calls.clear()
    trained_demo_bot.action_url, trained_demo_bot.action_secret = backend, SECRET
    trained_demo_bot.action_timeout = 0.5
    trained_demo_bot.save()
    intent = Intent.objects.get(bot=trained_demo_bot, name="opening_hours")
    Response.objects.filter(intent=intent, language="en").update(text="Open 9 to 5. Your ref: {ref}")
    intent.action = "hours/ok"
    intent.save()  # bumps the dialogue revision: the worker reloads the settings
    return intent
