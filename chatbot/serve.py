"""Serve the ASGI application with several daphne processes on one listening socket.

    python -m chatbot.serve --processes 2 --bind 127.0.0.1 --port 8000 chatbot.asgi:application

One daphne process runs its event loop on one core. This launcher binds the socket once and starts
`--processes` daphne processes that accept from it (daphne's `--fd`), so one port uses every core and the
kernel spreads new connections over the processes. Arguments after the options go to each daphne unchanged.
A process that exits unasked is started again after a second, unless it exits with an error in the
launcher's first 30 s (it could not start: the launcher stops the others and exits with its code). SIGTERM or
SIGINT stops them all, and the launcher exits once they have. Nothing here imports Django: each daphne process
loads the application itself.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAPHNE = str(Path(sys.executable).parent / "daphne")
RESTART_DELAY_S = 1.0
STARTUP_S = 30.0  # a process that exits this soon after the launcher started could not start at all


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(backlog)
    listener.set_inheritable(True)
    return listener


def daphne_start(listener: socket.socket, daphne_args: list[str]) -> subprocess.Popen:
    fd = listener.fileno()
    return subprocess.Popen([DAPHNE, "--fd", str(fd), *daphne_args], pass_fds=[fd])


def serve(*, processes: int, host: str, port: int, backlog: int, daphne_args: list[str]) -> int:
    listener = listening_socket(host, port, backlog)
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, frame: stopping.append(received))
    children = [daphne_start(listener, daphne_args) for _ in range(processes)]
    print(f"serving on {host}:{port} with {processes} daphne processes: "
          f"{', '.join(str(child.pid) for child in children)}", flush=True)  # fmt: skip
    started = time.monotonic()
    code = 0
    while not stopping:
        for i, child in enumerate(children):
            if child.poll() is None or stopping:
                continue
            if child.returncode > 0 and time.monotonic() - started < STARTUP_S:  # an error, not a signal: it
                print(f"daphne {child.pid} exited with {child.returncode} while starting; stopping", flush=True)
                stopping.append(signal.SIGTERM)  # cannot start (settings, secret key), and neither will another
                code = child.returncode
                break
            print(f"daphne {child.pid} exited with {child.returncode}; starting another", flush=True)
            time.sleep(RESTART_DELAY_S)
            children[i] = daphne_start(listener, daphne_args)
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(stopping[0])
    for child in children:
        child.wait()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=int(os.environ.get("CHARLA_WEB_PROCESSES") or 0)
                        or os.cpu_count() or 1, help="daphne processes (default CHARLA_WEB_PROCESSES, else one "
                        "per core)")  # fmt: skip
    parser.add_argument("-b", "--bind", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=2048)
    args, daphne_args = parser.parse_known_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if not daphne_args:
        parser.error("name the application, e.g. chatbot.asgi:application")
    return serve(processes=args.processes, host=args.bind, port=args.port, backlog=args.backlog,
                 daphne_args=daphne_args)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
