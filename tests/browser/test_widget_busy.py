"""The chat page's widget under load shedding, in a real browser: a message refused as `busy` is sent again.

A module of its own: the widget module's answer worker would read the stale queue this test needs.
"""

import time

import pytest
from playwright.sync_api import expect

from conversations import inference
from conversations.models import Message
from tests.browser.test_widget import WAIT, Charla, browser, context, record_frames, say  # noqa: F401 (fixtures)
from tests.live import start_answer_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def busy_charla(stack_logs):
    """A daphne that sheds once the answer queue is 500 ms old, the answer stream empty, and no answer worker yet."""
    server = Charla(stack_logs)
    server.env = {**server.env, "CHARLA_BUSY_QUEUE_AGE_MS": "500"}
    server.log = stack_logs / "busy-daphne.log"
    server.start()
    inference.stream_client().delete(inference.STREAM)
    yield server
    server.stop()
    inference.stream_client().delete(inference.STREAM)


def test_a_message_refused_as_busy_is_sent_again_after_retry_after(trained_demo_bot, busy_charla, stack_logs, context):
    """An answer queue 3 s old: the chat page's message gets `busy` and stays "Sending…"; once the queue is
    young again, the widget's code sends it again after `retry_after`, and it is stored and answered once."""
    client = inference.stream_client()
    now_s, now_us = client.time()
    stale = inference.Turn(message_id=0, conversation_id="00000000-0000-0000-0000-000000000000", bot_id=0, text="x")
    aged_ms = now_s * 1000 + now_us // 1000 - 3000
    stale_id = client.xadd(inference.STREAM, inference._fields(stale, {}), id=f"{aged_ms}-0")
    page = context.new_page()
    frames = record_frames(page)
    page.goto(busy_charla.base + "/chat/demo/?lang=en")
    expect(page.locator("#chat-app")).to_have_attribute("data-state", "open", timeout=WAIT)
    say(page, "hello")
    expect(page.locator('#messages [data-status="pending"]')).to_have_count(1, timeout=WAIT)
    deadline = time.monotonic() + 30
    while not (busy := [f for f in frames if f["type"] == "busy"]):
        assert time.monotonic() < deadline, "no busy frame"
        page.wait_for_timeout(50)
    assert 3 <= busy[0]["retry_after"] <= 30 and isinstance(busy[0]["client_id"], str)  # the queue's age, >= 3 s
    assert not Message.objects.exists()
    client.xdel(inference.STREAM, stale_id)  # the queue drained
    worker = start_answer_worker(busy_charla.env, stack_logs / "busy-answer-worker.log")
    try:
        expect(page.locator('#messages [data-role="bot"]')).to_have_count(1, timeout=WAIT * 2)
    finally:
        stop(worker)
    expect(page.locator('#messages [data-status="pending"]')).to_have_count(0)
    assert [f["client_id"] for f in frames if f["type"] == "ack"] == [busy[0]["client_id"]]
    assert list(Message.objects.filter(role="user").values_list("text", flat=True)) == ["hello"]
    assert Message.objects.filter(reply_to__text="hello").count() == 1
