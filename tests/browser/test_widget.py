"""The widget and the iframe in a real browser (Debian's chromium driven by Playwright), on a third-party page.

One daphne (restartable), one answer worker and one chromium for the whole module. The "customer site" is a
second HTTP server on another port: reached as 127.0.0.1 it is an origin configured for the bot, reached as
localhost it is a foreign one.
"""

import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect, sync_playwright

from conversations.models import Message
from conversations.services.handoff import agent_message_send, handoff_take
from tests.live import ROOT, free_port, stack_env, start_daphne, stop

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"
WAIT = 60_000
# A hostile host page: its styles must not reach into the widget.
HOSTILE_CSS = (
    "<style>* { color: red !important; font-family: serif !important; } p { display: none !important; }</style>"
)


class Charla:
    """A daphne that a test may stop and start again on the same port."""

    def __init__(self, logs):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = stack_env({"CHARLA_ALLOWED_ORIGINS": self.base})
        self.log = logs / "daphne.log"
        self.process = None

    def start(self) -> None:
        self.process = start_daphne(self.port, self.env, self.log)

    def stop(self) -> None:
        stop(self.process)


class Site:
    """The customer's site: static pages that embed the widget or the iframe."""

    def __init__(self, charla: Charla):
        pages = {
            "/widget": f"""<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width,
                initial-scale=1"><title>Shop</title>{HOSTILE_CSS}</head><body><h1>Acme shop</h1><p>Welcome</p>
                <script src="{charla.base}/static/chatbot/widget.js" data-bot="demo" data-title="Acme help"
                data-color="#0f766e" data-greeting="Hi! Ask me about **orders** or opening hours." async></script>
                </body></html>""",
            "/widget-es": f"""<!doctype html><html><head><meta name="viewport" content="width=device-width,
                initial-scale=1"><title>Tienda</title></head><body><h1>Tienda</h1>
                <script src="{charla.base}/static/chatbot/widget.js" data-bot="demo" async></script></body></html>""",
            "/iframe": f"""<!doctype html><html><head><title>Blog</title></head><body><h1>Blog</h1>
                <iframe src="{charla.base}/embed/demo/?lang=en" title="Chat" width="420" height="560"></iframe>
                </body></html>""",
            "/iframe-admin": f"""<!doctype html><html><head><title>Blog</title></head><body>
                <iframe src="{charla.base}/admin/login/" title="Admin" width="420" height="560"></iframe>
                </body></html>""",
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.allowed = f"http://127.0.0.1:{self.port}"
        self.foreign = f"http://localhost:{self.port}"


@pytest.fixture(scope="module")
def charla(django_db_setup, stack_logs):
    server = Charla(stack_logs)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(charla):
    site = Site(charla)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(scope="module")
def browser():
    # Sync Playwright keeps an event loop registered on this thread, which Django takes for async code; the
    # tests' ORM calls are plain sync calls between browser steps (pytest-django's documented way for Playwright).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def bot(trained_demo_bot, site):
    trained_demo_bot.allowed_origins = [site.allowed]
    trained_demo_bot.save()
    return trained_demo_bot


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def shot(page, name: str, docs: str | None = None) -> None:
    """A screenshot in test-artifacts/; with CHARLA_DOCS_SCREENSHOTS=1 also the README's copy in docs/img/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name)
    if docs and os.environ.get("CHARLA_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / name, DOCS_IMG / docs)


def open_widget(page, url: str):
    page.goto(url)
    expect(page.locator("#charla-widget")).to_have_attribute("data-state", "open", timeout=WAIT)
    page.locator("#chat-launcher").click()
    expect(page.locator("#panel")).to_be_visible()


def say(page, text: str) -> None:
    page.locator("#chat-input").fill(text)
    page.locator("#chat-input").press("Enter")


def seqs(page) -> list[int]:
    return [int(seq) for seq in page.locator("#messages [data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")]


def record_frames(page) -> list[dict]:
    frames: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(json.loads(payload))))
    return frames


FINISHED = '#messages [data-seq="{seq}"]:not([data-streaming])'  # an answer revealed in full


def watch_bubble_growth(page) -> None:
    """Record the length of the answer being revealed at every DOM change, seen from outside the widget."""
    page.evaluate("""() => {
        window.__lengths = [];
        const root = document.querySelector('#charla-widget').shadowRoot;
        new MutationObserver(() => {
            const bubble = root.querySelector('[data-streaming] .msg__bubble');
            if (bubble) window.__lengths.push(bubble.textContent.length);
        }).observe(root, { subtree: true, childList: true, characterData: true });
    }""")


def test_the_widget_streams_the_answer_keeps_history_and_counts_unread(bot, worker, site, context):
    """One script tag: the answer streams in progressively, a reload keeps the history, an answer read in
    another tab is read here too, and one that arrives while no panel is open shows an unread badge."""
    page = context.new_page()
    frames = record_frames(page)
    open_widget(page, site.allowed + "/widget")
    expect(page.locator(".msg--greeting strong")).to_have_text("orders")
    watch_bubble_growth(page)
    say(page, "hello")
    bot_answer = page.locator('#messages [data-role="bot"][data-seq="2"]')
    expect(bot_answer.locator(".msg__meta")).not_to_be_empty(timeout=WAIT)
    message = next(f for f in frames if f["type"] == "message" and f["seq"] == 2)
    expect(bot_answer.locator(".msg__bubble")).to_have_text(message["text"])
    stream = [f for f in frames if f.get("seq") == 2 and f["type"].startswith("stream.")]
    assert [f["type"] for f in stream][0] == "stream.start" and stream[-1]["type"] == "stream.end"
    assert "".join(f["text"] for f in stream if f["type"] == "stream.delta") == message["text"]
    assert frames.index(stream[-1]) < frames.index(message)
    lengths = page.evaluate("window.__lengths")
    assert len(set(lengths)) > 1 and max(lengths) <= len(message["text"])  # revealed in steps, never all at once
    bubble_color = bot_answer.locator(".msg__bubble").evaluate("el => getComputedStyle(el).color")
    assert bubble_color != "rgb(255, 0, 0)"  # the host page's `* { color: red !important }` stayed outside
    shot(page, "widget-open.png", docs="widget.png")

    page.reload()
    expect(page.locator("#charla-widget")).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(page.locator("#panel")).to_be_hidden()
    other = context.new_page()  # same browser, same visitor: a second tab of the shop
    open_widget(other, site.allowed + "/widget")
    expect(other.locator("#messages [data-seq]")).to_have_count(2, timeout=WAIT)
    say(other, "thank you")
    expect(other.locator(FINISHED.format(seq=4))).to_have_count(1, timeout=WAIT)
    expect(page.locator(FINISHED.format(seq=4))).to_have_count(1, timeout=WAIT)  # pushed to the closed tab too
    expect(page.locator("#chat-launcher .badge")).to_be_hidden()  # already read in the other tab
    other.close()

    # A person answers while the visitor has no panel open: that one is news.
    conversation_id = Message.objects.get(text="thank you").conversation_id
    staff = get_user_model().objects.create_user("ana", is_staff=True)
    handoff_take(conversation_id=conversation_id, agent_id=staff.pk)
    agent_message_send(
        conversation_id=conversation_id, agent_id=staff.pk, text="Ana here, anything else?", client_id="a1"
    )
    expect(page.locator("#chat-launcher .badge")).to_have_text("1", timeout=WAIT)
    expect(page.locator("#chat-launcher")).to_have_attribute("aria-label", "Open chat (1 unread)")
    shot(page, "widget-unread.png")
    page.locator("#chat-launcher").click()
    expect(page.locator("#chat-launcher .badge")).to_be_hidden()
    expect(page.locator("#messages [data-seq]")).to_have_count(5, timeout=WAIT)  # the other tab's question too
    assert seqs(page) == [1, 2, 3, 4, 5]
    expect(page.locator('#messages [data-seq="5"] .msg__who')).to_have_text("ana")
    expect(page.locator('#messages [data-seq="1"] .msg__bubble')).to_have_text("hello")


def answered_then_server_stopped(page, site, charla) -> None:
    """One answered turn in the widget, then daphne stops (the caller starts it again, in a `finally`)."""
    open_widget(page, site.allowed + "/widget")
    say(page, "hello")
    expect(page.locator("#messages [data-seq]")).to_have_count(2, timeout=WAIT)
    charla.stop()


def sent_and_answered_once(page, text: str, seq: int) -> None:
    """`text` shows as the visitor's message `seq`, the bot's answer follows, nothing is left pending, and the
    database holds the message and its answer once."""
    expect(page.locator(f'#messages [data-seq="{seq}"] .msg__bubble')).to_have_text(text)
    expect(page.locator(f'#messages [data-seq="{seq + 1}"]')).to_have_attribute("data-role", "bot")
    expect(page.locator('#messages [data-status="pending"]')).to_have_count(0)
    assert Message.objects.filter(text=text).count() == 1
    assert Message.objects.filter(reply_to__text=text).count() == 1


def test_the_widget_reconnects_after_a_restart_catches_up_and_sends_the_offline_message_once(
    bot, worker, charla, site, context
):
    """Daphne stops; an answer is stored meanwhile and a message is typed offline; after the restart the widget
    reconnects, shows what it missed with no gap, and the offline message is stored and answered once."""
    from conversations.models import Conversation
    from conversations.services import message_receive

    page = context.new_page()
    answered_then_server_stopped(page, site, charla)
    try:
        expect(page.locator("#charla-widget")).to_have_attribute("data-state", "reconnecting", timeout=WAIT)
        conversation = Conversation.objects.get()
        message_receive(conversation_id=conversation.id, text="what are your opening hours?", client_id="other-device")
        while not Message.objects.filter(reply_to__client_id="other-device").exists():
            time.sleep(0.2)  # the worker answers while no socket listens (pytest-timeout bounds the wait)
        say(page, "where is my order?")
        expect(page.locator('#messages [data-status="pending"]')).to_have_count(1)
        expect(page.locator("#chat-status")).to_contain_text("Offline")
        shot(page, "widget-offline.png")
    finally:
        charla.start()

    expect(page.locator("#charla-widget")).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(page.locator("#messages [data-seq]")).to_have_count(6, timeout=WAIT)
    assert seqs(page) == [1, 2, 3, 4, 5, 6]
    sent_and_answered_once(page, "where is my order?", seq=5)
    shot(page, "widget-after-restart.png")


def test_a_message_typed_offline_survives_closing_the_tab(bot, worker, charla, site, context):
    """A message typed while the server is down is kept in the site's localStorage: the tab is closed, and the
    next page of the site sends it once the server is back; it is stored and answered once."""
    page = context.new_page()
    answered_then_server_stopped(page, site, charla)
    try:
        expect(page.locator("#charla-widget")).to_have_attribute("data-state", "reconnecting", timeout=WAIT)
        say(page, "where is my order?")
        expect(page.locator('#messages [data-status="pending"]')).to_have_count(1)
        page.close()
    finally:
        charla.start()

    page = context.new_page()
    open_widget(page, site.allowed + "/widget")
    expect(page.locator("#messages [data-seq]")).to_have_count(4, timeout=WAIT)
    assert seqs(page) == [1, 2, 3, 4]
    sent_and_answered_once(page, "where is my order?", seq=3)
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':pending')).map(k => localStorage[k])")
    assert stored == ["[]"]  # acknowledged, so forgotten


def test_the_iframe_is_framed_by_the_bots_origin_only(bot, worker, charla, site, context):
    """/embed/demo/ works inside an allowed site's iframe; a foreign site gets nothing, nor does the admin frame;
    the widget on the foreign site is refused by the socket, says so, and does not retry."""
    page = context.new_page()
    page.goto(site.allowed + "/iframe")
    chat = page.frame_locator("iframe")
    expect(chat.locator("#chat-app")).to_have_attribute("data-state", "open", timeout=WAIT)
    chat.locator("#chat-input").fill("hello")
    chat.locator("#chat-input").press("Enter")
    expect(chat.locator('#messages [data-role="bot"] .msg__meta')).not_to_be_empty(timeout=WAIT)
    shot(page, "iframe-allowed.png", docs="iframe.png")

    for url in (site.foreign + "/iframe", site.allowed + "/iframe-admin"):
        with page.expect_console_message(lambda message: "frame-ancestors" in message.text) as refusal:
            page.goto(url, wait_until="load")  # the parent's load waits for its iframe, refused or not
        assert "has been blocked" in refusal.value.text, url
        assert page.frames[1].locator("#chat-app, #login-form").count() == 0
    shot(page, "iframe-refused.png")

    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    with page.expect_console_message(lambda message: message.text.startswith("Charla:")) as refusal:
        page.goto(site.foreign + "/widget")
    assert "(4003)" in refusal.value.text and "allowed origins" in refusal.value.text  # the cause, for the site's owner
    expect(page.locator("#charla-widget")).to_have_attribute("data-state", "refused")
    page.locator("#chat-launcher").click()
    expect(page.locator("#chat-status")).to_have_text("Chat unavailable on this site")
    expect(page.locator("#chat-input")).to_be_disabled()
    page.wait_for_timeout(1_500)  # longer than the first reconnection delays (0.5 s, then 1 s)
    assert len(sockets) == 1  # refused is final: no retries against the server


XSS_USER = [
    "<script>window.__pwned = 1; alert(1)</script>",
    '<img src=x onerror="window.__pwned = 1; alert(1)">',
    '<a href="javascript:alert(1)">click</a> [link](javascript:alert(1)) **bold?**',
    "<svg onload=alert(1)></svg><iframe src=javascript:alert(1)></iframe>",
]
XSS_BOT = (
    "**Welcome** to *Acme*! <script>window.__pwned = 1</script> <img src=x onerror=\"alert(1)\"> "
    "[docs](https://example.com/docs) [evil](javascript:alert(1)) <a href=\"javascript:alert(1)\">raw</a> "
    "[data](data:text/html,<script>alert(1)</script>) <svg onload=alert(1)>"
)


def test_an_xss_corpus_in_user_text_and_bot_answers_renders_inert(bot, worker, site, context):
    """Script tags, event handlers and javascript: links show as text; only the allow-listed markdown of an
    answer becomes markup, and its one safe link opens with noopener noreferrer."""
    from intents.models import Response

    Response.objects.filter(intent__bot=bot, intent__name="greet").update(text=XSS_BOT)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(page, site.allowed + "/widget")
    for text in XSS_USER:
        say(page, text)
    say(page, "hello")
    answer = page.locator('#messages [data-role="bot"]', has_text="Welcome")
    expect(answer.locator(".msg__meta")).to_contain_text("greet", timeout=WAIT)
    expect(page.locator('#messages [data-role="user"] .msg__bubble')).to_have_text(XSS_USER + ["hello"])

    messages = page.locator("#messages")
    assert messages.locator("script, img, svg, iframe, [onerror], [onload]").count() == 0
    assert answer.locator("strong").all_inner_texts() == ["Welcome"]
    assert answer.locator("em").all_inner_texts() == ["Acme"]
    links = messages.locator("a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == "https://example.com/docs"
    assert (links.get_attribute("rel"), links.get_attribute("target")) == ("noopener noreferrer", "_blank")
    expect(answer.locator(".msg__bubble")).to_contain_text("[evil](javascript:alert(1))")
    expect(answer.locator(".msg__bubble")).to_contain_text('<img src=x onerror="alert(1)">')
    page.locator('#messages [data-role="user"] .msg__bubble').nth(1).click()
    assert page.evaluate("window.__pwned") is None and dialogs == []
    messages.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    shot(page, "widget-xss.png")


def test_the_widget_on_a_phone_in_spanish_with_the_keyboard_only(bot, worker, site, browser):
    """375 px wide, browser language Spanish: Tab reaches the launcher, Enter opens the panel full screen with
    focus in the input, the answer arrives in Spanish, Escape closes it and focus returns to the launcher."""
    context = browser.new_context(
        locale="es-ES", viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        page = context.new_page()
        page.goto(site.allowed + "/widget-es")
        expect(page.locator("#charla-widget")).to_have_attribute("data-state", "open", timeout=WAIT)
        launcher = page.locator("#chat-launcher")
        expect(launcher).to_have_attribute("aria-label", "Abrir el chat")
        page.keyboard.press("Tab")
        expect(launcher).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#chat-input")).to_be_focused()
        expect(page.locator("#chat-input")).to_have_attribute("placeholder", "Escribe un mensaje…")
        page.keyboard.type("hola")
        page.keyboard.press("Enter")
        expect(page.locator('#messages [data-role="bot"] .msg__meta')).to_contain_text("greet", timeout=WAIT)
        box = page.locator("#panel").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        expect(page.locator("#chat-send")).to_be_in_viewport()
        shot(page, "widget-phone.png")
        page.keyboard.press("Escape")
        expect(page.locator("#panel")).to_be_hidden()
        expect(launcher).to_be_focused()
    finally:
        context.close()


def test_a_quick_reply_button_sends_its_payload(bot, worker, site, context):
    """An answer's buttons show under it; a click sends the payload as the visitor's next message, the visitor's
    bubble shows the button's title (after a reload too), and the buttons go away once the conversation moves on."""
    from intents.models import Response

    buttons = [{"title": "Opening hours", "payload": "what are your opening hours?"}]
    Response.objects.filter(intent__bot=bot, intent__name="greet").update(buttons=buttons)
    page = context.new_page()
    open_widget(page, site.allowed + "/widget")
    say(page, "hello")
    button = page.locator('#messages [data-seq="2"] .quick')
    expect(button).to_have_text("Opening hours", timeout=WAIT)
    button.click()
    expect(page.locator('#messages [data-seq="3"] .msg__bubble')).to_have_text("Opening hours")  # the choice
    expect(page.locator('#messages [data-seq="4"] .msg__meta')).to_contain_text("opening_hours", timeout=WAIT)
    expect(button).to_be_hidden()
    assert Message.objects.get(seq=3).text == "what are your opening hours?"  # what was sent: the payload
    page.reload()
    page.locator("#chat-launcher").click()
    expect(page.locator('#messages [data-seq="3"] .msg__bubble')).to_have_text("Opening hours", timeout=WAIT)


@pytest.fixture
def limited_charla(stack_logs):
    """A second daphne allowing two messages per visitor per 5 s (the module's own keeps the defaults)."""
    server = Charla(stack_logs)
    server.env = {**server.env, "CHARLA_RATE_CHAT_MESSAGES": "2/5s"}
    server.log = stack_logs / "limited-daphne.log"
    server.start()
    yield server
    server.stop()


def test_a_message_refused_by_the_rate_limit_is_sent_again_after_retry_after(bot, worker, limited_charla, context):
    """Two messages per visitor per 5 s: the third, typed at once, gets `rate_limited`; the widget (here on the chat
    page, the same code) keeps it pending and sends it again after `retry_after`; all three are stored and
    answered once, in the order typed."""
    page = context.new_page()
    frames = record_frames(page)
    page.goto(limited_charla.base + "/chat/demo/?lang=en")
    expect(page.locator("#chat-app")).to_have_attribute("data-state", "open", timeout=WAIT)
    for text in ("hello", "thank you", "bye!"):
        say(page, text)
    expect(page.locator("#messages [data-seq]")).to_have_count(6, timeout=WAIT)
    expect(page.locator('#messages [data-status="pending"]')).to_have_count(0)
    refusals = [f for f in frames if f.get("code") == "rate_limited"]
    assert len(refusals) == 1 and 1 <= refusals[0]["retry_after"] <= 5
    texts = ["hello", "thank you", "bye!"]
    assert page.locator('#messages [data-role="user"] .msg__bubble').all_text_contents() == texts
    assert list(Message.objects.filter(role="user").order_by("seq").values_list("text", flat=True)) == texts
    assert Message.objects.filter(reply_to__text__in=texts).count() == 3
