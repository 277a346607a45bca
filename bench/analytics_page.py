"""How long the operators' pages take on the configured database (run analytics_generate first).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/charla_bench .venv/bin/python -m bench.analytics_page \\
        --bot demo --runs 7 --json bench/results/analytics_page.json

Each page is fetched whole (view, queries, template, charts) through Django's test client in this process, as
a logged-in superuser, `--runs` times after one warm-up; the baseline of the same run is the admin's index
page, which reads no messages. Reported: p50 and max milliseconds per page, the ratio of each p50 to the
baseline's, the bot's message count and the machine's load average (a shared machine makes every number
slower, the ratios less so).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path


def timed(client, url: str, runs: int) -> dict:
    client.get(url)  # warm-up: connection, caches, PostgreSQL's buffers
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return {"url": url, "p50_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bot", default="demo")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from conversations.models import Message
    from intents.models import Bot

    bot = Bot.objects.get(slug=args.bot)
    user, _ = get_user_model().objects.get_or_create(username="bench-operator", defaults={"is_staff": True})
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    days = Message.objects.filter(bot=bot, role="user").dates("created_at", "day")
    first = days.first()
    pages = {
        "admin index (baseline)": "/admin/",
        "dashboard, last 30 days": f"/admin/conversations/botanalytics/?bot={bot.pk}",
        "dashboard, all days": f"/admin/conversations/botanalytics/?bot={bot.pk}&start={first}&end={days.last()}",
        "inbox, first page": f"/admin/conversations/inboxmessage/?bot={bot.pk}",
        "inbox, one language and intent": f"/admin/conversations/inboxmessage/?bot={bot.pk}&language=es&intent=greet",
    }
    results = {name: timed(client, url, args.runs) for name, url in pages.items()}
    baseline = results["admin index (baseline)"]["p50_ms"]
    for result in results.values():
        result["over_baseline"] = round(result["p50_ms"] / baseline, 1)
    report = {
        "messages": Message.objects.filter(bot=bot).count(),
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "pages": results,
    }
    json.dump(report, sys.stdout, indent=2)
    print()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
