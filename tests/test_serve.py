"""chatbot.serve: several daphne processes on one listening socket, as `make run` starts the web tier."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from tests.live import ROOT, free_port, wait_for_port


def _serve(port: int, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "chatbot.serve", "--processes", "2", "--port", str(port), *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _served_by(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        return int(response.read())


def _children(launcher: subprocess.Popen, count: int) -> set[int]:
    for _ in range(300):
        pids = {child.pid for child in psutil.Process(launcher.pid).children()}
        if len(pids) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"the launcher has {len(pids)} children, not {count}")


@pytest.fixture
def launcher():
    port = free_port()
    process = _serve(port, "tests.asgi_pid:application")
    wait_for_port(port, process)
    yield process, port
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def test_one_port_is_served_by_every_daphne_process_and_a_dead_one_is_replaced(launcher):
    """Requests on the one port are answered by the launcher's daphne processes only; a process killed is
    replaced, and the port keeps answering meanwhile."""
    process, port = launcher
    children = _children(process, 2)
    served = {_served_by(port) for _ in range(20)}
    assert served and served <= children
    victim = next(iter(children))
    os.kill(victim, signal.SIGKILL)
    assert {_served_by(port) for _ in range(5)} <= children - {victim}
    time.sleep(2)  # the launcher notices within 0.2 s and starts another after a second
    replaced = _children(process, 2)
    assert victim not in replaced and len(replaced - children) == 1


def test_sigterm_stops_every_process_and_frees_the_port(launcher):
    process, port = launcher
    children = _children(process, 2)
    _served_by(port)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    with pytest.raises(OSError):
        _served_by(port)


def test_an_application_that_cannot_start_stops_the_launcher_with_its_error():
    """daphne exits at once (the application does not import): the launcher does not restart it for ever."""
    process = _serve(free_port(), "tests.no_such_module:application")
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "while starting; stopping" in output
