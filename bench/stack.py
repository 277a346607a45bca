"""Start a local stack (daphne + workers on PostgreSQL/Redis), load it with bench.chat_load, stop it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.stack --workers 2 --web 2 --rate 60,90,120 \
        --duration 15 --json bench/results/stack.json

For each mode (`batched`, the answer workers; `unshed`, the same with load shedding off, as the same run's
baseline) it starts fresh daphne processes (--web of them on one port, through chatbot.serve as `make run`
does) and N answer worker processes, runs the scenarios side by
side (one conversation turn by turn; many conversations at each --rate), and stops everything; the model
alone is measured in the same run, so every figure is also a ratio. `sustained_turns_per_s` is the best
throughput among the rates answered with p99 <= 250 ms and nothing refused, lost, duplicated or out of order.
Each load's `errors` counts what is the stack's fault (lost, duplicated, out of order) and `failures` names
every kind (bench.tally.KINDS), refusals (`busy`, `rate_limited`) and the generator's lag included.
Everything binds to 127.0.0.1.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from bench import chat_load, cpu
from bench.tally import percentile

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def workers_start(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    """`count` answer_worker processes."""
    return [
        subprocess.Popen([PYTHON, "manage.py", "answer_worker"], cwd=ROOT, env=env,
                         stdout=(logs / f"answer-worker-{i}.log").open("ab"), stderr=subprocess.STDOUT)
        for i in range(count)
    ]  # fmt: skip


def web_start(processes: int, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`processes` daphne processes on one port, as `make run` starts them (chatbot.serve)."""
    from tests.live import wait_for_port

    command = [PYTHON, "-m", "chatbot.serve", "--processes", str(processes), "--bind", "127.0.0.1",
               "--port", str(port), "chatbot.asgi:application"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_for_port(port, process)
    return process


@contextmanager
def stack(mode: str, workers: int, port: int, logs: Path, web: int = 1):
    """`web` daphne processes sharing one port, as `make run` starts them. Yields the URL and the stack's parts
    whose CPU a load run measures."""
    from tests.live import stop

    # One load generator is one client address sending many visitors' messages: the chat's rate limits are off.
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000", "CHARLA_RATE_CHAT_MESSAGES": "off",
           "CHARLA_RATE_CHAT_VISITORS": "off"}  # fmt: skip
    if mode == "unshed":  # the batched path with load shedding off: the baseline shedding is compared with
        env["CHARLA_BUSY_QUEUE_AGE_MS"] = "0"
    webs = [web_start(web, port, env, logs / f"web-{mode}.log")]
    answerers = workers_start(workers, env, logs)
    parts = {
        "web": cpu.process_trees([process.pid for process in webs]),
        "workers": cpu.process_trees([process.pid for process in answerers]),
        "postgres": cpu.postgres_backends(urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")),
        "redis": cpu.processes_named("redis-server"),
        "load_generator": cpu.this_process(),
    }
    processes = [*webs, *answerers]
    try:
        cpu.settled(parts["web"])
        yield [f"ws://127.0.0.1:{port}/ws/chat/demo/"], parts
    finally:
        for process in processes:
            stop(process)


def model_alone(samples: int) -> dict:
    """The production classifier in this process, one sentence at a time: the floor a chat turn is compared with."""
    import django

    django.setup()
    from intents.classifier import configure_threads
    from intents.models import Bot
    from intents.selectors import production_version_for_bot
    from intents.services import intent_predict

    configure_threads(1)
    bot = Bot.objects.get(slug="demo")
    assert production_version_for_bot(bot_id=bot.pk) is not None
    texts = chat_load.TEXTS
    intent_predict(bot_id=bot.pk, text="warm up")
    times = []
    for i in range(samples):
        started = time.perf_counter()
        intent_predict(bot_id=bot.pk, text=texts[i % len(texts)])
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(percentile(times, 50), 2), "p99_ms": round(percentile(times, 99), 2), "n": samples}


def scenarios(urls: list[str], parts: dict[str, cpu.Finder], args: argparse.Namespace) -> dict:
    """One conversation turn by turn, then the load at each rate of --rate, lowest first; each with the CPU
    milliseconds every part of the stack spent per turn (warm-up turns included, as in the CPU readings)."""
    common = [*(arg for url in urls for arg in ("--url", url)), "--warmup", "3", "--drain", "20"]

    def measured(argv: list[str]) -> dict:
        before = cpu.cpu_seconds(parts)
        result = chat_load.main([*common, *argv])
        result["cpu_ms_per_turn"] = cpu.cpu_ms_per_turn(before, cpu.cpu_seconds(parts), result["sent_total"])
        print("CPU ms per turn:", result["cpu_ms_per_turn"])
        return result

    single = measured(["--conversations", "1", "--closed", "--rate", "1000", "--duration", str(min(args.duration, 10))])
    loads = {
        rate: measured(
            ["--conversations", str(args.conversations), "--rate", str(rate), "--duration", str(args.duration)]
        )
        for rate in sorted(args.rate)
    }
    return {"single": single, "loads": loads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="batched",
                        help="comma-separated: batched, unshed (batched with load shedding off)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rate", type=lambda value: [float(r) for r in value.split(",")], default=[100.0],
                        help="messages/s offered; a comma-separated list sweeps them (e.g. 60,90,120)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--web", type=int, default=os.cpu_count() or 1,
                        help="daphne processes sharing --port (default: one per core, as `make run`)")
    parser.add_argument("--skip-setup", action="store_true", help="the database is migrated and the demo trained")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        parser.error("set DATABASE_URL and REDIS_URL (a database and Redis db of its own: the run writes to them)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("CHARLA_DEV", "1")  # a local benchmark stack: the development secret key will do
    if not args.skip_setup:
        for command in (
            ["migrate", "--noinput"],
            ["load_demo_bot"],
            ["train_intents", "--bot", "demo", "--if-changed"],
        ):
            manage(*command, env=dict(os.environ))
    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result = {"model_alone": model_alone(200), "modes": {}}
    for mode in args.modes.split(","):
        with stack(mode, args.workers, args.port, logs, web=args.web) as (urls, parts):
            result["modes"][mode] = scenarios(urls, parts, args)
    result["ratios"] = ratios(result)
    print(json.dumps(result["ratios"], indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))


P99_BAR_MS = 250  # issue 5: sustained turns/s count only with p99 at or under this, and nothing lost


def ratios(result: dict) -> dict:
    alone = result["model_alone"]["p50_ms"]
    out = {}
    for mode, runs in result["modes"].items():
        single, loads = runs["single"], runs["loads"]
        passing = [load for load in loads.values() if load["p99_ms"] is not None and load["p99_ms"] <= P99_BAR_MS
                   and _errors(load) + load.get("refused", 0) == 0]  # fmt: skip
        out[mode] = {
            "turn_p50_minus_model_p50_ms": round(single["p50_ms"] - alone, 2) if single["p50_ms"] else None,
            "turn_p50_over_model_p50": round(single["p50_ms"] / alone, 2) if single["p50_ms"] else None,
            "loads": {
                str(rate): {"throughput": load["throughput"], "p99_ms": load["p99_ms"],
                            "errors": _errors(load), "refused": load.get("refused", 0),
                            "failures": load.get("failures", {}),
                            "cpu_ms_per_turn": (load.get("cpu_ms_per_turn") or {}).get("total")}  # fmt: skip
                for rate, load in loads.items()
            },
            "sustained_turns_per_s": max((load["throughput"] for load in passing), default=None),
            "max_throughput": max(load["throughput"] for load in loads.values()),
        }
    if {"unshed", "batched"} <= out.keys():
        shed = out["batched"]["loads"]
        out["batched_over_unshed"] = {rate: _over(shed[rate], load) for rate, load in out["unshed"]["loads"].items()
                                      if rate in shed}  # fmt: skip
    return out


def _over(shed: dict, unshed: dict) -> dict[str, float | None]:
    """Shedding's effect at one rate: p99 of the answered and answers/s, each over the run without shedding."""
    return {key: round(shed[key] / unshed[key], 2) if shed[key] is not None and unshed[key] else None
            for key in ("p99_ms", "throughput")}  # fmt: skip


def _errors(load: dict) -> int:
    """The stack's own faults: a message lost (neither answered nor refused), answered twice or out of order."""
    return load["lost"] + load["duplicated"] + load["out_of_order"]


if __name__ == "__main__":
    main()
