"""Real processes for end-to-end tests: daphne, answer workers and Celery workers against the test database."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The production settings' hasher: the processes started here check passwords with it (the test process itself
# prefers a cheap one, see tests/conftest.py).
LIVE_HASHER = "pbkdf2_sha256"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stack_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's settings, pointed at the test database the test session created."""
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", **(extra or {})}


def use_model_storage(settings, *, storage: Path, cache: Path) -> None:
    """Point this process (pytest-django's `settings`) at a filesystem model storage and a host cache folder."""
    settings.CHARLA_MODEL_DIR, settings.CHARLA_MODEL_CACHE_DIR = storage, cache
    models = {**settings.STORAGES["models"], "OPTIONS": {"location": str(storage), "allow_overwrite": True}}
    settings.STORAGES = {**settings.STORAGES, "models": models}


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 180) -> None:
    """Returns once something listens on `port`; the limit is generous because a loaded machine (other test
    processes starting) can take a minute to import the project."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


def wait_for_log(log: Path, needle: str, after: int = 0, timeout: float = 300) -> str:
    """The first line past byte `after` of the log that contains `needle`, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")[after:] if log.exists() else ""
        line = next((line for line in content.splitlines() if needle in line), None)
        if line is not None:
            return line
        time.sleep(0.05)
    raise TimeoutError(f"{needle!r} not in {log} after {timeout}s")


def start_daphne(port: int, env: dict[str, str], log: Path, *options: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), *options, "chatbot.asgi:application"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
    except TimeoutError:
        stop(process)  # a fixture that fails here never reaches its teardown
        raise
    return process


def start_worker(
    name: str, env: dict[str, str], log: Path, pool: str = "solo", concurrency: int = 1, queues: str = "default",
) -> subprocess.Popen:
    """A Celery worker: beat's jobs (queue `default`, the requeue sweep among them), `training` or `batch`."""
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "chatbot", "worker", "-Q", queues, f"--pool={pool}",
         f"--concurrency={concurrency}", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
         "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


ANSWER_WORKER_READY = " ready: model versions"  # answer_worker's log line once its models are loaded


def start_answer_worker(env: dict[str, str], log: Path, *args: str, ready: bool = True) -> subprocess.Popen:
    """`manage.py answer_worker`, the answer path; with `ready`, returned once it has loaded the production models
    and says it is ready (on a busy machine that can take a minute)."""
    offset = log.stat().st_size if log.exists() else 0
    process = subprocess.Popen(
        [sys.executable, "manage.py", "answer_worker", *args],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    if ready:
        try:
            wait_for_log(log, ANSWER_WORKER_READY, offset)
        except TimeoutError:
            stop(process)  # a fixture that fails here never reaches its teardown
            raise
    return process


def start_ready_answer_workers(prefix: str, count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    """`count` answer workers started together, returned once each says it is ready, so a fault a test injects next
    hits a working stack. Their logs are `logs / f"{prefix}-answer-worker-{n}.log"`."""
    workers = []
    for n in range(count):
        log = logs / f"{prefix}-answer-worker-{n}.log"
        workers.append((log, log.stat().st_size if log.exists() else 0, start_answer_worker(env, log, ready=False)))
    try:
        for log, offset, _ in workers:
            wait_for_log(log, ANSWER_WORKER_READY, offset)
    except TimeoutError:
        stop_all([process for *_, process in workers])
        raise
    return [process for *_, process in workers]


def answer_workers_holding(version_id: int, count: int = 1, timeout: float = 120) -> list[dict]:
    """The ready answer workers' heartbeats (this process's REDIS_URL), once `count` of them say they hold model
    version `version_id`."""
    from conversations.inference import workers_ready

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holding = [beat for beat in workers_ready() if version_id in beat["versions"].values()]
        if len(holding) >= count:
            return holding
        time.sleep(0.1)
    raise TimeoutError(f"no {count} ready answer workers hold model version {version_id} after {timeout}s")


def start_beat(env: dict[str, str], log: Path, schedule: Path) -> subprocess.Popen:
    """Celery beat, its schedule file outside the repository."""
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "chatbot", "beat", "-s", str(schedule), "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def start_ready_sweep(prefix: str, env: dict[str, str], logs: Path, schedule: Path) -> list[subprocess.Popen]:
    """Beat and a Celery worker on queue `default`, which runs beat's requeue sweep, returned once the worker says
    it is ready and beat has started (importing the app can take a minute on a busy machine). Logs:
    `jobs-{prefix}.log` and `beat-{prefix}.log` under `logs`."""
    logs_and_offsets = [(log, log.stat().st_size if log.exists() else 0)
                        for log in (logs / f"jobs-{prefix}.log", logs / f"beat-{prefix}.log")]  # fmt: skip
    processes = [start_worker(f"{prefix}-jobs", env, logs_and_offsets[0][0]),
                 start_beat(env, logs_and_offsets[1][0], schedule)]  # fmt: skip
    try:
        for (log, offset), needle in zip(logs_and_offsets, (" ready.", "beat: Starting")):
            wait_for_log(log, needle, offset)
    except TimeoutError:
        stop_all(processes)
        raise
    return processes


def start_redis(port: int, log: Path) -> subprocess.Popen:
    """A Redis server of the test's own, without persistence: stopping it loses everything it held."""
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process)
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Stop processes together: each gets SIGTERM at once (a worker's warm shutdown takes seconds), then `stop`."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        stop(process)


class Client:
    def __init__(self, socket):
        self.socket = socket

    async def frame(self, timeout: float = 60) -> dict:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def send(self, frame) -> None:
        await self.socket.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def say(self, text: str, client_id: str | None = None) -> dict:
        """Send a message and return the bot's answer to it."""
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "message", "client_id": client_id, "text": text})
        ack = await self.frame()
        assert ack["type"] == "ack" and ack["client_id"] == client_id
        while (frame := await self.frame())["type"] != "message":
            assert frame == {"type": "typing", "on": True}
        assert frame["reply_to"] == ack["seq"]
        return frame


async def open_chat(url: str) -> tuple[Client, dict]:
    socket = await websockets.connect(url, origin="http://127.0.0.1:8000", open_timeout=30)
    client = Client(socket)
    session = await client.frame()
    assert session["type"] == "session"
    return client, session
