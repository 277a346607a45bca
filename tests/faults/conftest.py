"""The fault suite's shared stack: two daphne processes and two answer workers with random inference delays
and a poison text that makes the classifier raise. Tests that break PostgreSQL or Redis start their own."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import ROOT, free_port, stack_env, start_daphne, start_ready_answer_workers, stop_all

POISON = "POISON-PILL"
FAULTS_ENV = {"CHARLA_FAULT_INFERENCE_DELAY_MS": "0,300", "CHARLA_FAULT_POISON_TEXT": POISON}
# Daphne pings a socket that sent nothing for --ping-interval seconds and drops it when no pong comes within
# --ping-timeout (defaults 20 s and 30 s). The second daphne drops a client that reads nothing within the
# test's time; the first one never does during a test, however slow a loaded machine makes it.
QUICK_PINGS = ("--ping-interval", "1", "--ping-timeout", "2")
SLOW_PINGS = ("--ping-interval", "600", "--ping-timeout", "600")


@dataclass(frozen=True)
class FaultStack:
    urls: tuple[str, str]
    daphne_pids: tuple[int, int]
    dsn: str  # the database the stack writes to, for the ledger
    worker_logs: tuple[Path, Path]


@pytest.fixture(scope="package")
def fault_logs() -> Path:
    """Logs of the processes the fault suite starts, kept under test-artifacts/ for a failed run."""
    logs = ROOT / "test-artifacts" / "logs" / "faults"
    logs.mkdir(parents=True, exist_ok=True)
    return logs


@pytest.fixture(scope="package")
def fault_stack(django_db_setup, fault_logs):
    logs = fault_logs
    ports = free_port(), free_port()
    origins = ",".join(["http://127.0.0.1:8000", *(f"http://127.0.0.1:{port}" for port in ports)])
    env = stack_env({**FAULTS_ENV, "CHARLA_ALLOWED_ORIGINS": origins})
    daphnes = [start_daphne(ports[0], env, logs / "daphne-0.log", *SLOW_PINGS),
               start_daphne(ports[1], env, logs / "daphne-1.log", *QUICK_PINGS)]  # fmt: skip
    workers = start_ready_answer_workers("faults", 2, env, logs)
    yield FaultStack(
        urls=tuple(f"ws://127.0.0.1:{port}/ws/chat/demo/" for port in ports),
        daphne_pids=tuple(process.pid for process in daphnes),
        dsn=env["DATABASE_URL"],
        worker_logs=(logs / "faults-answer-worker-0.log", logs / "faults-answer-worker-1.log"),
    )
    stop_all([*workers, *daphnes])
