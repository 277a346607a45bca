"""bench.answer: the CPU an answered turn costs the answer worker's code and its PostgreSQL backend."""

import pytest

from bench.answer import WARMUP_ROUNDS, main
from conversations.models import Message

pytestmark = pytest.mark.django_db(transaction=True)  # the messages are stored on a thread of their own


def test_every_turn_is_answered_once_in_order_and_its_cost_is_read(trained_demo_bot):
    result = main(["--batch", "2", "--rounds", "2"])
    rounds = WARMUP_ROUNDS + 2
    users = Message.objects.filter(bot=trained_demo_bot, role=Message.Role.USER)
    assert users.count() == 2 * rounds
    assert not users.exclude(status=Message.Status.ANSWERED).exists()
    replies = Message.objects.filter(role=Message.Role.BOT, reply_to__in=users)
    assert replies.count() == 2 * rounds
    for conversation in {message.conversation_id for message in users}:
        turns = Message.objects.filter(conversation_id=conversation, role__in=["user", "bot"], seq__gt=0)
        answers = [(turn.reply_to_id, turn.seq) for turn in turns.exclude(reply_to=None).order_by("seq")]
        asked = list(turns.filter(role="user").order_by("seq").values_list("pk", "seq"))
        assert [pk for pk, _ in answers] == [pk for pk, _ in asked]  # each answered once, in order
        assert all(reply_seq > seq for (_, seq), (_, reply_seq) in zip(asked, answers))
    assert result["answered"] == 4
    assert result["worker_cpu_ms"] > 0 and result["postgres_cpu_ms"] >= 0 and result["wall_ms"] > 0
