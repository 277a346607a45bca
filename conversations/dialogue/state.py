"""The dialogue state kept in Conversation.state (JSON): contexts with lifespans, slots, the open form, counters.

{"turns": 3, "last_intent": "book_table", "fallbacks_in_row": 0,
 "contexts": {"booking": {"turns": 2, "expires": 1767225600.0}},
 "slots": {"people": 4, "when": "2026-11-26T17:00"},
 "form": {"intent": "book_table", "requested": "email"}}
"""

from datetime import datetime, timedelta
from typing import Any

from intents.selectors import ContextSpec


def contexts_active(*, state: dict[str, Any], now: datetime) -> dict[str, dict[str, float]]:
    """Contexts still alive: turns left and not past their time limit."""
    stamp = now.timestamp()
    return {
        name: context
        for name, context in (state.get("contexts") or {}).items()
        if context.get("turns", 0) > 0 and context.get("expires", 0) > stamp
    }


def contexts_after_turn(
    *, active: dict[str, dict[str, float]], sets: list[ContextSpec], now: datetime
) -> dict[str, dict[str, float]]:
    """One user turn used up: every live context loses a turn, then the answered intent's contexts are (re)set."""
    contexts = {name: {**c, "turns": c["turns"] - 1} for name, c in active.items() if c["turns"] > 1}
    for context in sets:
        expires = now + timedelta(minutes=context.minutes)
        contexts[context.name] = {"turns": context.turns, "expires": expires.timestamp()}
    return contexts
