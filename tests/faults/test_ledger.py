"""The fault suite's checker catches what it is there to catch (no stack needed: the frames are given)."""

import pytest

from .ledger import _out_of_order
from .visitor import SocketLog, Tab

pytestmark = pytest.mark.faults


def test_a_push_below_an_answer_the_socket_already_had_counts_as_out_of_order():
    """Pushed answers must rise; a repeat of one already received (a push after a replay) is allowed."""
    assert _out_of_order([("live", 4), ("live", 6), ("live", 8)]) == 0
    assert _out_of_order([("live", 4), ("live", 8), ("live", 6)]) == 1
    assert _out_of_order([("replay", 6), ("replay", 8), ("live", 8), ("live", 10)]) == 0


def _tab_with_window(after: int, frames: list[tuple[str, int]]) -> Tab:
    tab = Tab("ws://127.0.0.1:1/ws/chat/demo/")
    tab.sockets.append(SocketLog())
    tab._window = (after, frames)
    return tab


def test_a_replay_window_is_split_into_the_pushes_before_it_and_the_gapless_replay():
    """Between `resume` (after_seq 3) and the marker: a push of 8, then the replay 4..8; only 8's first copy
    is live, so a push of 8 before older answers is not mistaken for disorder, and a real one would be."""
    tab = _tab_with_window(3, [("bot", 8), ("user", 4), ("bot", 5), ("user", 6), ("bot", 7), ("bot", 8)])
    tab._window_close()
    assert tab.sockets[-1].messages == [("live", 8), ("replay", 5), ("replay", 7), ("replay", 8)]
    assert _out_of_order(tab.sockets[-1].messages) == 0


def test_a_window_without_a_replay_is_all_pushes():
    """Nothing stored after after_seq: whatever arrived in the window was pushed, and is order-checked."""
    tab = _tab_with_window(10, [("bot", 14), ("bot", 12)])
    tab._window_close()
    assert tab.sockets[-1].messages == [("live", 14), ("live", 12)]
    assert _out_of_order(tab.sockets[-1].messages) == 1
