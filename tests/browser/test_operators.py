"""The operators' inbox and dashboard in a real browser (Debian's chromium driven by Playwright) against daphne.

A staff member logs in to the admin, adds an inbox message as an example of an intent (it leaves the inbox, the
example exists), then opens the dashboard for a chosen range and sees its charts. With CHARLA_DOCS_SCREENSHOTS=1
the screenshots also refresh docs/img/inbox.png and docs/img/analytics.png.
"""

import os
import shutil
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from conversations.models import Message
from conversations.operators.analytics import bot_analytics
from conversations.services.traffic import traffic_generate
from intents.models import ModelVersion, TrainingExample
from tests.conversations.factories import user_message
from tests.live import LIVE_HASHER, ROOT

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"
WAIT = 30_000
# What visitors of a shop's bot say that it does not know yet: the top of the inbox in the screenshot.
MISSED = [
    ("where is my parcel??", "order_status", "fallback", 0.41, "en"),
    ("can I pay with bitcoin", "help", "out_of_scope", 0.22, "en"),
    ("¿hacéis envíos a Canarias?", "order_status", "fallback", 0.36, "es"),
    ("I want to talk to someone real", "human_handoff", "handoff", 0.88, "en"),
    ("mesa para 4 el sábado", "book_table", "answered", 0.44, "es"),
    ("tell me a joke", "bot_identity", "out_of_scope", 0.18, "en"),
    ("are you open on bank holidays", "opening_hours", "answered", 0.47, "en"),
]


@pytest.fixture
def traffic(trained_demo_bot):
    """Six weeks of generated traffic on two model versions, and the newest misses on top."""
    version = ModelVersion.objects.get(bot=trained_demo_bot)
    ModelVersion.objects.create(bot=trained_demo_bot, version=2, encoder=version.encoder, data_fingerprint="v2",
                                artifact_path=version.artifact_path)  # fmt: skip
    traffic_generate(bot=trained_demo_bot, messages=16_000, days=42)
    now = timezone.now()
    for n, (text, intent, outcome, confidence, language) in enumerate(reversed(MISSED)):
        user_message(bot=trained_demo_bot, text=text, intent=intent, outcome=outcome, confidence=confidence,
                     language=language, model_version=version, at=now - timedelta(minutes=len(MISSED) - n))  # fmt: skip
    return trained_demo_bot


@pytest.fixture
def page(web, traffic, monkeypatch):
    # Sync Playwright keeps an event loop registered on this thread, which Django takes for async code; the
    # test's ORM calls are plain sync calls between browser steps (pytest-django's documented way for Playwright).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    olga = get_user_model().objects.create_superuser("olga", "olga@example.com")
    olga.password = make_password("a-long-password", hasher=LIVE_HASHER)  # daphne checks it, with its own hashers
    olga.save()
    base = web.replace("ws://", "http://").split("/ws/")[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
        page.goto(base + "/admin/login/")
        page.fill("#id_username", "olga")
        page.fill("#id_password", "a-long-password")
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_be_visible(timeout=WAIT)
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # a wider page
        page.base = base
        yield page
        browser.close()


def shot(page, name: str, full_page: bool = False, docs: bool = True) -> None:
    """A screenshot in test-artifacts/; with CHARLA_DOCS_SCREENSHOTS=1 also the docs' copy in docs/img/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=full_page)
    if docs and os.environ.get("CHARLA_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / name, DOCS_IMG / name)


def test_an_operator_adds_an_inbox_message_as_an_example_then_reads_the_dashboard(traffic, page):
    """Check a message, choose an intent, "Add as examples": the row leaves the inbox and the example exists.
    Then the dashboard for the last 14 days draws its five charts and counts that range's messages."""
    page.goto(f"{page.base}/admin/conversations/inboxmessage/?bot={traffic.pk}")
    row = page.locator("#inbox-table tbody tr", has_text="where is my parcel??")
    expect(row).to_have_count(1, timeout=WAIT)
    shot(page, "inbox.png")
    row.locator('input[name="ids"]').check()
    page.select_option("#bulk-intent", label="order_status")
    page.get_by_role("button", name="Add as examples").click()
    expect(page.locator(".messagelist")).to_contain_text("1 message added as examples of order_status")
    expect(page.locator("#inbox-table tbody tr", has_text="where is my parcel??")).to_have_count(0)
    example = TrainingExample.objects.get(text="where is my parcel??")
    assert (example.intent.name, example.language) == ("order_status", "en")
    assert Message.objects.get(text="where is my parcel??").review == Message.Review.EXAMPLE

    today = timezone.localdate()
    start = today - timedelta(days=13)
    page.goto(f"{page.base}/admin/conversations/botanalytics/?bot={traffic.pk}")
    page.fill("#id_start", start.isoformat())
    page.fill("#id_end", today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.chart")).to_have_count(5, timeout=WAIT)
    expect(page.locator("#chart-traffic svg rect.s1")).not_to_have_count(0)
    expected = bot_analytics(bot=traffic, start=start, end=today).total.messages
    expect(page.locator("#kpi-messages")).to_have_text(f"{expected:,}")
    assert page.locator(".op-sub").inner_text().startswith(f"{start.day} {start:%b %Y}")
    page.set_viewport_size({"width": 1280, "height": 1480})  # the totals and the three daily charts
    shot(page, "analytics.png")
    shot(page, "analytics-full.png", full_page=True, docs=False)
