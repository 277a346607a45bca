"""Batch prediction jobs end to end: the API on a live daphne, a real Celery worker on queue `batch`, PostgreSQL."""

import csv
import io
import json
import re
import time

import pytest
import requests
from django.db import transaction

from intents.models import ModelVersion, PredictionItem, PredictionJob
from tests.live import free_port, stack_env, start_daphne, start_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = {"CHARLA_BATCH_CHUNK_SIZE": "8"}  # several chunks per job, several claims
TEXTS = ["where is my order?", "what are your opening hours?", "hola", "I want to book a table", "thanks",
         "¿dónde está mi pedido?", "who are you?", "bye", "talk to an agent", "hello"] * 3  # fmt: skip


@pytest.fixture(scope="module")
def api(django_db_setup, stack_logs):
    port = free_port()
    process = start_daphne(port, stack_env(CHUNK), stack_logs / "daphne.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="module")
def batch_worker(django_db_setup, stack_logs):
    process = start_worker("batch", stack_env(CHUNK), stack_logs / "batch-worker.log", queues="batch")
    yield process
    stop(process)


@pytest.fixture
def staff(db) -> requests.Session:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user("batch-staff", is_staff=True)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    return session


def wait_done(session: requests.Session, status_url: str, deadline_s: float = 180) -> dict:
    """Polls the status endpoint; the deadline only turns a broken worker into a failure instead of a hang."""
    deadline, seen = time.monotonic() + deadline_s, []
    while time.monotonic() < deadline:
        body = session.get(status_url).json()
        seen.append(body["progress"])
        if body["status"] not in ("queued", "running"):
            return {**body, "seen_progress": seen}
        time.sleep(0.2)
    raise AssertionError(f"job still {body['status']} at {body['progress']} %")


def test_a_json_job_is_classified_and_its_results_stream_in_item_order_in_three_formats(
    trained_demo_bot, api, batch_worker, staff
):
    """202 with the job's URLs; the worker classifies every item once; results come back in submission order
    as a JSON array, JSON lines and CSV, each row with its intent, confidence, language and model version."""
    response = staff.post(f"{api}/api/bots/demo/prediction-jobs", json={"texts": TEXTS})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["status"], job["total_items"], job["done_items"], job["model_version"]) == ("queued", 30, 0, 1)
    assert response.headers["Location"] == job["status_url"] and job["results_url"] == job["status_url"] + "/results"

    done = wait_done(staff, job["status_url"])
    assert (done["status"], done["done_items"], done["progress"], done["error"]) == ("done", 30, 100.0, "")
    assert done["seen_progress"] == sorted(done["seen_progress"]) and done["finished_at"]
    items = PredictionItem.objects.filter(job_id=job["id"])
    assert items.filter(written_at__isnull=False).count() == 30 and {i.claims for i in items} == {1}

    rows = staff.get(job["results_url"]).json()
    assert [row["index"] for row in rows] == list(range(30)) and [row["text"] for row in rows] == TEXTS
    assert {row["model_version"] for row in rows} == {1}
    by_text = {row["text"]: row for row in rows}
    assert by_text["where is my order?"]["intent"] == "order_status"
    assert by_text["what are your opening hours?"]["intent"] == "opening_hours"
    assert (by_text["¿dónde está mi pedido?"]["intent"], by_text["¿dónde está mi pedido?"]["language"]) == (
        "order_status", "es")
    assert all(0 <= row["confidence"] <= 1 and isinstance(row["out_of_scope"], bool) for row in rows)

    lines = staff.get(job["results_url"], headers={"Accept": "application/x-ndjson"})
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    assert [json.loads(line) for line in lines.text.splitlines()] == rows
    table = staff.get(job["results_url"] + "?format=csv")
    assert table.headers["Content-Type"].startswith("text/csv") and "attachment" in table.headers["Content-Disposition"]
    records = list(csv.DictReader(io.StringIO(table.text)))
    assert [(int(r["index"]), r["text"], r["intent"]) for r in records] == [
        (row["index"], row["text"], row["intent"]) for row in rows
    ]
    assert {r["out_of_scope"] for r in records} <= {"true", "false"} and {r["model_version"] for r in records} == {"1"}


def test_a_csv_upload_keeps_its_ids_and_a_raw_csv_body_works_too(trained_demo_bot, api, batch_worker, staff):
    """A multipart CSV with an `id` column: results carry the ids; a `text/csv` body without header is a job too."""
    upload = "id,text\nA-1,where is my order?\nA-2,\"hello, who are you?\"\nA-3,adiós\n"
    response = staff.post(f"{api}/api/bots/demo/prediction-jobs", files={"file": ("mine.csv", upload, "text/csv")})
    assert response.status_code == 202, response.text
    assert response.json()["source"] == "mine.csv"
    assert wait_done(staff, response.json()["status_url"])["status"] == "done"
    records = list(csv.DictReader(io.StringIO(staff.get(response.json()["results_url"] + "?format=csv").text)))
    assert [(r["id"], r["text"]) for r in records] == [("A-1", "where is my order?"),
                                                        ("A-2", "hello, who are you?"), ("A-3", "adiós")]  # fmt: skip
    assert records[0]["intent"] == "order_status"

    raw = staff.post(f"{api}/api/bots/demo/prediction-jobs", data="thanks\nbye\n".encode(),
                     headers={"Content-Type": "text/csv"})  # fmt: skip
    assert raw.status_code == 202 and raw.json()["total_items"] == 2
    assert wait_done(staff, raw.json()["status_url"])["done_items"] == 2


def test_a_promotion_after_submission_does_not_change_the_jobs_model(trained_demo_bot, batch_worker):
    """The job keeps the version that was production when it was registered, even if another is promoted before
    any worker starts it (here one whose artifact does not exist: using it would fail the job)."""
    from intents.batch_input import BatchText
    from intents.services import prediction_job_create

    with transaction.atomic():
        job = prediction_job_create(bot=trained_demo_bot, texts=[BatchText("hello"), BatchText("bye")])
        ModelVersion.objects.filter(bot=trained_demo_bot).update(stage=ModelVersion.Stage.ARCHIVED)
        ModelVersion.objects.create(bot=trained_demo_bot, version=2, stage=ModelVersion.Stage.PRODUCTION,
                                    encoder="x", data_fingerprint="x", artifact_path="/nonexistent/v2")  # fmt: skip
    deadline = time.monotonic() + 120
    while (job := PredictionJob.objects.get(pk=job.pk)).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (job.status, job.done_items, job.model_version.version) == ("done", 2, 1)


async def test_the_admin_job_page_shows_progress_live_without_a_reload(trained_demo_bot, api, admin_user):
    """In a real browser: the job page's bar and label follow the job as chunks are written (here written by this
    test, holding the chunks' claims as a slow worker would, so each step is seen), up to "done", with no reload."""
    from asgiref.sync import sync_to_async
    from django.test import Client
    from playwright.async_api import async_playwright, expect

    from intents.batch_input import BatchText
    from intents.classifier import Prediction
    from intents.services import prediction_job_create
    from intents.services.prediction_jobs import _claim, _write
    from tests.browser.test_chat_page import CHROMIUM_ARGS

    def submit_and_hold() -> tuple[PredictionJob, list, str]:
        job = prediction_job_create(bot=trained_demo_bot, texts=[BatchText(f"hello {n}") for n in range(100)])
        chunks = []
        while chunk := _claim(job.pk):
            chunks.append(chunk)
        client = Client()
        client.force_login(admin_user)
        return job, chunks, client.cookies["sessionid"].value

    def write(chunks: list) -> None:
        for claim, items in chunks:
            predictions = [Prediction("greet", 0.9, "en", [], False)] * len(items)
            _write(job.pk, claim, items, predictions)

    job, chunks, session = await sync_to_async(submit_and_hold)()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context()
        await context.add_cookies([{"name": "sessionid", "value": session, "url": api}])
        page = await context.new_page()
        await page.goto(f"{api}/admin/intents/predictionjob/{job.pk}/change/")
        label = page.locator(".prediction-progress-label")
        # "running" once the module's worker has taken the job's task (and found every chunk held).
        await expect(label).to_have_text(re.compile(r"^(queued|running) · 0 % \(0/100\)$"), timeout=30_000)
        await sync_to_async(write)(chunks[:1])
        await expect(label).to_have_text("running · 64 % (64/100)", timeout=30_000)
        await sync_to_async(write)(chunks[1:])
        await expect(label).to_have_text("done · 100 % (100/100)", timeout=30_000)
        assert await page.evaluate("document.querySelector('progress').value") == 100
        # the poll stops at `finished_at`, as static/admin/charla-progress.js marks it
        await expect(page.locator(".prediction-progress")).to_have_attribute("data-progress-state", "done")
        await browser.close()
