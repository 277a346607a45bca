"""bench.receive: the CPU one stored visitor's message costs, in this process and in PostgreSQL."""

import pytest

from bench.receive import WARMUP, main
from conversations.models import Message


@pytest.mark.django_db
def test_every_message_is_stored_once_and_its_cost_is_read(demo_bot):
    result = main(["--messages", "6", "--conversations", "2"])
    stored = Message.objects.filter(role=Message.Role.USER, bot=demo_bot)
    assert stored.count() == WARMUP + 6
    assert sorted(stored.filter(conversation=stored.first().conversation).values_list("seq", flat=True)) == list(
        range(1, (WARMUP + 6) // 2 + 1)
    )
    assert result["messages"] == 6
    assert result["python_cpu_ms"] >= 0 and result["postgres_cpu_ms"] >= 0 and result["wall_ms"] > 0
