"""bench.quick_pair against a live daphne and answer worker: two quick messages, two answers, in order."""

import argparse

import pytest
from channels.db import database_sync_to_async

from bench.quick_pair import run, summarize
from conversations.models import Message


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_each_pair_gets_both_answers_in_order_and_the_summary_compares_them(trained_demo_bot, web, worker):
    args = argparse.Namespace(url=web, origin="http://127.0.0.1:8000", pairs=2, warmup=1, timeout=60.0)
    summary = await run(args)
    assert summary["pairs"] == summary["in_order"] == 2
    assert summary["second_answer_p50_ms"] > summary["first_answer_p50_ms"] > 0
    answered = await database_sync_to_async(
        lambda: sorted(Message.objects.filter(role="bot").values_list("reply_to__text", flat=True))
    )()
    assert answered == sorted(["hello", "what are your opening hours?"] * 3)  # the warm-up pair too, once each


def test_the_summary_counts_a_pair_answered_out_of_order():
    pairs = [{"reply_to": [1, 2], "first_ms": 10.0, "second_ms": 30.0},
             {"reply_to": [2, 1], "first_ms": 20.0, "second_ms": 60.0}]  # fmt: skip
    summary = summarize(pairs)
    assert summary["in_order"] == 1 and summary["second_after_first_p50_ms"] == 30.0
    assert summary["second_over_first"] == round(45.0 / 15.0, 2)
