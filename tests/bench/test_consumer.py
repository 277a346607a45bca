"""bench.consumer: the CPU the chat consumer spends to accept a visitor's message, in this process and PostgreSQL."""

import pytest

from bench.consumer import WARMUP, main
from conversations.models import Message

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reaches the database from its own thread


def test_every_message_is_acked_stored_once_and_its_cost_is_read(demo_bot, settings, monkeypatch):
    """The settings the bench sets through the environment are read before this test; here they are set directly,
    and the environment it changes is put back afterwards."""
    settings.CHARLA_RATE_CHAT_VISITORS = "off"
    settings.CHARLA_BUSY_QUEUE_AGE_MS = 0
    for name in ("CHARLA_ALLOWED_ORIGINS", "CHARLA_RATE_CHAT_VISITORS", "CHARLA_BUSY_QUEUE_AGE_MS"):
        monkeypatch.setenv(name, "")
    result = main(["--messages", "6", "--sockets", "2"])
    stored = Message.objects.filter(role=Message.Role.USER, bot=demo_bot)
    assert stored.count() == WARMUP + 6
    assert stored.values("conversation").distinct().count() == 2
    assert (result["messages"], result["sockets"]) == (6, 2)
    assert result["cpu_ms_per_message"]["web"] > 0 and result["cpu_ms_per_message"]["postgres"] >= 0
    assert result["wall_ms"] > 0
