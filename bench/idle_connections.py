"""Hold N idle chat sockets on one daphne process and report that process's memory (RSS).

    ulimit -n 20000   # daphne and this client each need one descriptor per socket, plus some
    .venv/bin/python -m bench.idle_connections --pid $(pgrep -n daphne) --connections 5000 --json out.json

Each socket is a real session (visitor, conversation, channel-layer group): start that daphne with
CHARLA_RATE_CHAT_VISITORS=off, or one client address creating 5,000 visitors is refused after the first 300.
Bounded: gives up after --timeout seconds, holds for --hold seconds, closes everything. Only 127.0.0.1 targets.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import websockets

from bench.chat_load import LOCAL_HOSTS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def hold(args: argparse.Namespace) -> dict:
    semaphore = asyncio.Semaphore(args.parallel)
    sockets = []

    async def one() -> None:
        async with semaphore:
            socket = await websockets.connect(args.url, origin=args.origin, open_timeout=120, ping_interval=None)
            await socket.recv()  # the session frame: the server finished setting this socket up
            sockets.append(socket)

    before = rss_mib(args.pid)
    started = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(args.connections)),
                                                    return_exceptions=True), args.timeout)  # fmt: skip
    opened_s = time.monotonic() - started
    await asyncio.sleep(args.hold)
    after = rss_mib(args.pid)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    return {"connections": len(sockets), "failed": len(errors), "first_errors": errors[:3],
            "rss_before_mib": before, "rss_held_mib": after, "open_seconds": round(opened_s, 1),
            "per_connection_kib": round((after - before) * 1024 / max(1, len(sockets)), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/chat/demo/")
    parser.add_argument("--origin", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True, help="the daphne process serving --url")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--parallel", type=int, default=100, help="handshakes in flight at once")
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOCAL_HOSTS or args.connections > 20_000:
        parser.error("127.0.0.1 targets and at most 20000 connections only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.connections + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.connections + 1000), hard))
    result = asyncio.run(hold(args))
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
