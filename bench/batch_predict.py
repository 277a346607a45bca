"""Batch prediction throughput end to end (API → PostgreSQL → `batch` workers → results) beside the raw model.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python -m bench.batch_predict --items 2000 --workers 1 --json bench/results/batch_predict.json

Texts: the CLINC150 test split (read from --data, never copied into the repository), in order, repeated if
--items asks for more. Both sides classify the same texts in chunks of CHARLA_BATCH_CHUNK_SIZE with one torch
thread per process:
- raw: `intents.services.intent_predict_batch` in this process (model loaded and warmed first), measured before
  and after the end-to-end run; their mean is the baseline;
- end to end: POST the texts as JSON to a live daphne, poll the job's status every 0.5 s until done, with
  --workers batch worker processes already warm (a small job first); then the results are streamed as CSV (timed
  apart).
`ratio` = end-to-end items/s ÷ raw items/s; with one worker the bar is ≥ 0.8. Everything binds to 127.0.0.1.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "clinc150" / "data" / "data_full.json"


def texts(path: Path, count: int) -> list[str]:
    pool = [text for text, _ in json.loads(path.read_text())["test"]]
    return [pool[i % len(pool)] for i in range(count)]


def raw(bot_id: int, items: list[str], chunk: int) -> dict:
    from intents.services import intent_predict_batch

    started = time.perf_counter()
    for i in range(0, len(items), chunk):
        intent_predict_batch(bot_id=bot_id, texts=items[i : i + chunk])
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "items_per_s": round(len(items) / seconds, 1)}


def end_to_end(base: str, token: str, items: list[str]) -> dict:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    started = time.perf_counter()
    response = session.post(f"{base}/api/bots/demo/prediction-jobs", json=items)
    response.raise_for_status()
    submitted = time.perf_counter()
    job = response.json()
    while (job := session.get(job["status_url"]).json())["status"] in ("queued", "running"):
        time.sleep(0.5)  # light polling: on two cores, 10 polls a second cost the worker measurable CPU
    done = time.perf_counter()
    assert job["status"] == "done" and job["done_items"] == len(items), job
    rows = len(list(csv.reader(io.StringIO(session.get(job["results_url"] + "?format=csv").text)))) - 1
    streamed = time.perf_counter()
    assert rows == len(items)
    return {"submit_s": round(submitted - started, 2), "seconds": round(done - started, 2),
            "items_per_s": round(len(items) / (done - started), 1),
            "results_csv_s": round(streamed - done, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--skip-setup", action="store_true", help="the database is migrated and the demo trained")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        parser.error("set DATABASE_URL and REDIS_URL (a database and Redis db of its own: the run writes to them)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("CHARLA_TORCH_THREADS", "1")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not args.skip_setup:
        for command in (
            ["migrate", "--noinput"],
            ["load_demo_bot"],
            ["train_intents", "--bot", "demo", "--if-changed"],
        ):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from intents.classifier import configure_threads
    from intents.models import Bot
    from tests.live import start_daphne, start_worker, stop

    configure_threads(settings.CHARLA_TORCH_THREADS)
    bot, chunk, items = Bot.objects.get(slug="demo"), settings.CHARLA_BATCH_CHUNK_SIZE, texts(args.data, args.items)
    user, _ = User.objects.get_or_create(username="bench-batch", defaults={"is_staff": True})
    token = Token.objects.get_or_create(user=user)[0].key
    raw(bot.pk, items[:chunk], chunk)  # load and warm the model
    before = raw(bot.pk, items, chunk)
    logs = ROOT / "bench" / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    processes = [start_daphne(args.port, env, logs / "batch-daphne.log")]
    try:
        processes += [start_worker(f"bench-batch{n}", env, logs / f"batch-worker-{n}.log", queues="batch")
                      for n in range(args.workers)]  # fmt: skip
        end_to_end(base, token, items[: chunk * args.workers])  # every worker loads its model
        e2e = end_to_end(base, token, items)
    finally:
        for process in processes:
            stop(process)
    after = raw(bot.pk, items, chunk)
    baseline = (before["items_per_s"] + after["items_per_s"]) / 2
    result = {
        "items": args.items, "workers": args.workers, "chunk": chunk, "threads": settings.CHARLA_TORCH_THREADS,
        "cpus": os.cpu_count(), "raw_before": before, "raw_after": after, "raw_items_per_s": round(baseline, 1),
        "end_to_end": e2e, "ratio": round(e2e["items_per_s"] / baseline, 2),
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
