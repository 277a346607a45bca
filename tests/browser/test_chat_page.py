"""The chat page in a real browser (Debian's chromium driven by Playwright), against a live daphne and worker."""

import pytest
from playwright.async_api import async_playwright, expect

from tests.live import ROOT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
async def page(web):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="es-ES")
        page = await context.new_page()
        yield page
        await browser.close()


async def test_a_visitor_talks_reloads_and_the_conversation_continues(trained_demo_bot, web, worker, page):
    """Type in Spanish, get a Spanish answer, reload, see the same history, and keep talking."""
    base = web.replace("ws://", "http://").split("/ws/")[0]
    await page.goto(base + "/")
    await expect(page.locator("#chat-app")).to_have_attribute("data-state", "open", timeout=30_000)
    await page.fill("#chat-input", "hola")
    await page.press("#chat-input", "Enter")
    bot = page.locator('#messages [data-role="bot"]')
    await expect(bot).to_have_count(1, timeout=60_000)
    await expect(bot.first).to_have_attribute("data-seq", "2")
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / "chat-page.png")

    await page.reload()
    await expect(page.locator("#chat-app")).to_have_attribute("data-state", "open", timeout=30_000)
    await expect(page.locator("#messages [data-seq]")).to_have_count(2, timeout=30_000)
    await expect(page.locator('#messages [data-role="user"]').first).to_contain_text("hola")

    await page.fill("#chat-input", "¿a qué hora abrís?")
    await page.press("#chat-input", "Enter")
    await expect(bot).to_have_count(2, timeout=60_000)
    await expect(page.locator("#messages [data-seq]")).to_have_count(4)
    await page.screenshot(path=SHOTS / "chat-page-after-reload.png")
