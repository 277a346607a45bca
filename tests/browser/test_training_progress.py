"""The training job page in a real browser (Debian's chromium, Playwright): its progress moves while a job runs,
without a reload, through static/admin/charla-progress.js polling the job's progress.json."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from intents.models import TrainingJob
from intents.services import training_job_run
from tests.live import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "screenshots"
# Records every status and percent the page shows, so the test sees the values it passed through.
RECORDER = """() => {
  window.__samePage = true;
  window.__seen = [];
  const record = () => window.__seen.push([
    document.querySelector('.field-live_progress [data-progress-field="status_display"]').textContent,
    document.querySelector('.field-live_progress span[data-progress-field="progress"]').textContent]);
  new MutationObserver(record).observe(document.querySelector('.field-live_progress'),
    {subtree: true, childList: true, characterData: true});
}"""


def test_the_training_job_page_shows_progress_moving_without_reload(demo_bot, model_dir, live_server):
    """Opened while the job is queued, the page then shows it running through intermediate percentages and
    stages, and finally succeeded at 100 % with its version and decision, all in the same page load."""
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "x")
    client = Client()
    client.force_login(admin)
    job = TrainingJob.objects.create(bot=demo_bot)

    def train() -> None:
        try:
            training_job_run(job_id=job.pk)
        finally:
            connection.close()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = context.new_page()
        errors, polls = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("response", lambda response: "progress.json" in response.url and polls.append(response.status))
        page.goto(f"{live_server.url}/admin/intents/trainingjob/{job.pk}/change/")
        status = page.locator('.field-live_progress [data-progress-field="status_display"]')
        expect(status).to_have_text("Queued")
        page.evaluate(RECORDER)

        worker = threading.Thread(target=train)
        worker.start()
        try:
            expect(status).to_have_text("Succeeded", timeout=240_000)
        finally:
            worker.join()
        expect(page.locator('.field-live_progress span[data-progress-field="progress"]')).to_have_text("100")
        expect(page.locator('.field-outcome [data-progress-field="version"]')).to_have_text("demo v1 (candidate)")
        expect(page.locator('.field-outcome [data-progress-field="decision_summary"]')).to_contain_text(
            "Left a candidate"
        )
        expect(page.locator(".field-live_progress [data-progress-state]")).to_have_attribute(
            "data-progress-state", "done"
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "training-job-progress.png", full_page=True)
        assert page.evaluate("window.__samePage") is True  # never reloaded
        seen = page.evaluate("window.__seen")
        browser.close()

    percents = {int(percent) for state, percent in seen if state == "Running"}
    assert any(0 < percent < 100 for percent in percents), seen
    assert not errors and polls and set(polls) == {200}
