"""Scenario 1: one visitor with two tabs, each on another daphne process, sending interleaved messages while
two workers classify with random delays."""

import asyncio
import random

import pytest

from .ledger import tally
from .visitor import TEXTS, Tab, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_two_tabs_on_two_daphnes_are_answered_once_each_in_order_on_both(trained_demo_bot, fault_stack):
    """Two visitors, each with a tab on each daphne, send 4 messages per tab alternating between their tabs:
    every message is stored once and answered once, and both tabs of a visitor get every answer of the
    conversation pushed (no resume needed), in seq order."""
    visitors = []
    for _ in range(2):
        first = await Tab(fault_stack.urls[0]).open()
        second = await Tab(fault_stack.urls[1], token=first.token).open()
        assert first.conversation == second.conversation
        visitors.append((first, second))
    tabs = [tab for pair in visitors for tab in pair]
    try:
        for n in range(8):
            for first, second in visitors:
                await (first, second)[n % 2].say(TEXTS[n % len(TEXTS)])
            await asyncio.sleep(random.uniform(0, 0.05))
        waited = await until(lambda: all(len(tab.bot) == 8 for tab in tabs), timeout=120)
    finally:
        for tab in tabs:
            await tab.close()
    result = await asyncio.to_thread(tally, fault_stack.dsn, tabs)
    print(result.line("two-tabs-two-daphnes", tabs=len(tabs), last_answer_s=round(waited, 1)))
    result.assert_nothing_lost()
    assert result.replayed == 0 and result.sent == 16
