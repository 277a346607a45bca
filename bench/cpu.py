"""Where a load's CPU goes: CPU seconds of each part of the stack, read before and after a run.

On 2 shared cores the stack's capacity is its CPU cost per turn, so bench.stack reports that cost per part
(web processes, answer workers, PostgreSQL, Redis, the load generator itself) beside the latencies.
"""

import time
from collections.abc import Callable

import psutil

Finder = Callable[[], list[psutil.Process]]


def processes_named(name: str) -> Finder:
    """Every process with this name (PostgreSQL's backends, Redis): also those started during the run."""
    return lambda: [process for process in psutil.process_iter(["name"]) if process.info["name"] == name]


def postgres_backends(database: str) -> Finder:
    """PostgreSQL's backends connected to `database`: on a server that other databases share, their work is
    left out (so is the server's own background work, the WAL writer's included: a lower bound)."""

    def find() -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["name", "cmdline"]):
            title = " ".join(process.info["cmdline"] or [])
            if process.info["name"] == "postgres" and f" {database} " in f"{title} ":
                found.append(process)
        return found

    return find


def this_process() -> Finder:
    """The calling process alone (the load generator; its children are the stack it started)."""
    return lambda: [psutil.Process()]


def connection_backend() -> Finder:
    """The PostgreSQL backend serving this thread's Django database connection (opened if it is not)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0])
    return lambda: [backend]


def process_trees(pids: list[int]) -> Finder:
    """These processes and their children (a Celery prefork worker's pool)."""

    def find() -> list[psutil.Process]:
        found = []
        for pid in pids:
            try:
                parent = psutil.Process(pid)
                found += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    return find


def cpu_seconds(parts: dict[str, Finder]) -> dict[str, dict[int, float]]:
    """User + system CPU seconds of every process of each part, by pid."""
    readings: dict[str, dict[int, float]] = {}
    for part, find in parts.items():
        readings[part] = {}
        for process in find():
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            readings[part][process.pid] = times.user + times.system
    return readings


def cpu_seconds_spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each part spent between the readings; a process started meanwhile counts whole, one that ended
    meanwhile is missing (its share is lost, so the figures are a lower bound)."""
    return {
        part: sum(seconds - before.get(part, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for part, pids in after.items()
    }


def cpu_ms_per_turn(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], turns: int) -> dict:
    """CPU milliseconds each part spent per turn between the readings (as cpu_seconds_spent counts them)."""
    spent = cpu_seconds_spent(before, after)
    per_turn = {part: round(1000 * seconds / turns, 2) if turns else None for part, seconds in spent.items()}
    per_turn["total"] = round(1000 * sum(spent.values()) / turns, 2) if turns else None
    return per_turn


def settled(find: Finder, *, window_s: float = 1.0, busy_s: float = 0.05, timeout_s: float = 180) -> None:
    """Return once the processes spent under `busy_s` of CPU in a `window_s` window: started processes have
    imported and loaded what they load before serving, so that cost is not billed to the first run's turns."""
    deadline = time.monotonic() + timeout_s
    last = sum(sum(pids.values()) for pids in cpu_seconds({"all": find}).values())
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = sum(sum(pids.values()) for pids in cpu_seconds({"all": find}).values())
        if now - last < busy_s:
            return
        last = now
    raise TimeoutError(f"still busy after {timeout_s} s")
