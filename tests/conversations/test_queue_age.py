"""The shedding signal on a real Redis: the age of the oldest answer-stream entry no worker has answered yet."""

import pytest

from conversations import inference, limits


@pytest.fixture
def stream(settings, monkeypatch):
    """An empty answer stream in the test's Redis database, and a fresh per-process cache of its age."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    client = inference.stream_client()
    client.delete(inference.STREAM)
    monkeypatch.setattr(limits, "_queue_wait", limits._QueueWait())
    yield client
    client.delete(inference.STREAM)


def add_aged(client, seconds: float) -> None:
    """An entry whose id says it was added `seconds` ago, by Redis's clock (the id is its time in ms)."""
    now_s, now_us = client.time()
    added_ms = int(now_s * 1000 + now_us / 1000 - seconds * 1000)
    turn = inference.Turn(message_id=0, conversation_id="00000000-0000-0000-0000-000000000000", bot_id=0, text="hi")
    client.xadd(inference.STREAM, inference._fields(turn, {}), id=f"{added_ms}-0")


def test_no_stream_and_an_empty_stream_are_not_old(stream):
    """Nothing ever queued, or every entry done: age 0."""
    assert inference.queue_state().age_s == 0.0
    inference.group_ensure()
    assert inference.queue_state().age_s == 0.0


def test_the_oldest_unread_entry_gives_the_age_with_or_without_a_group(stream):
    """Before any worker created the group every entry is unread; after, those past its last-delivered id are."""
    add_aged(stream, 5.0)
    add_aged(stream, 1.0)
    assert 4.9 <= inference.queue_state().age_s <= 6.0
    inference.group_ensure()
    assert 4.9 <= inference.queue_state().age_s <= 6.0


def test_entries_in_a_worker_batch_count_until_they_are_acknowledged(stream):
    """XREADGROUP hands a worker its whole batch at once: under load the unread part of the stream is short and
    young while the work waits in the workers' hands. Read and unanswered, an entry still counts; answered
    (acknowledged and deleted), it no longer does."""
    inference.group_ensure()
    add_aged(stream, 20.0)
    add_aged(stream, 10.0)
    taken = inference.entries_read(consumer="worker", count=2, block_ms=0)
    assert len(taken) == 2 and inference.queue_state().waiting == 0
    assert 19.9 <= inference.queue_state().age_s <= 21.0
    inference.entries_done(taken[:1])
    assert 9.9 <= inference.queue_state().age_s <= 11.0
    inference.entries_done(taken[1:])
    assert inference.queue_state().age_s == 0.0


def test_entries_a_dead_worker_left_stop_counting_after_the_stranded_idle_time(stream):
    """A dead worker's entries stay pending until claimed (CHARLA_INFERENCE_CLAIM_IDLE); they must not make the
    site refuse everything meanwhile: delivered over STRANDED_IDLE_MS ago and unacknowledged, they are left out."""
    inference.group_ensure()
    add_aged(stream, 20.0)
    add_aged(stream, 10.0)
    [dead] = inference.entries_read(consumer="dead-worker", count=1, block_ms=0)
    assert 19.9 <= inference.queue_state().age_s <= 21.0  # just delivered: a live worker's batch, for all we know
    # The entry's time since delivery set as if it had been read long ago (XCLAIM's IDLE), by the same consumer.
    stream.xclaim(inference.STREAM, inference.GROUP, "dead-worker", 0, [dead.id], idle=inference.STRANDED_IDLE_MS + 1)
    assert 9.9 <= inference.queue_state().age_s <= 11.0  # the 20 s one is stranded with the dead worker
    inference.entries_read(consumer="dead-worker", count=1, block_ms=0)
    assert 9.9 <= inference.queue_state().age_s <= 11.0  # the 10 s one was just delivered: it counts
    assert stream.xpending(inference.STREAM, inference.GROUP)["pending"] == 2


@pytest.mark.asyncio
async def test_a_message_waits_only_while_the_queue_is_older_than_the_threshold(stream, settings):
    """Under CHARLA_BUSY_QUEUE_AGE_MS: no wait. Over it: the queue's age in whole seconds. 0 turns shedding off."""
    settings.CHARLA_BUSY_QUEUE_AGE_MS = 2000
    add_aged(stream, 1.0)
    assert await limits.answer_queue_wait() is None
    stream.delete(inference.STREAM)
    add_aged(stream, 3.2)
    limits._queue_wait = limits._QueueWait()
    assert await limits.answer_queue_wait() == 4
    settings.CHARLA_BUSY_QUEUE_AGE_MS = 0
    assert await limits.answer_queue_wait() is None


@pytest.mark.asyncio
async def test_the_age_is_read_at_most_every_100_ms_per_process(stream, settings):
    """Sockets of one process share one reading: an entry queued just after it is seen at the next one."""
    settings.CHARLA_BUSY_QUEUE_AGE_MS = 500
    assert await limits.answer_queue_wait() is None
    add_aged(stream, 60.0)
    assert await limits.answer_queue_wait() is None  # the reading of a moment ago
    limits._queue_wait._read_at -= limits.QUEUE_AGE_READ_EVERY_S
    assert await limits.answer_queue_wait() == limits.RETRY_AFTER_MAX_S


def test_a_message_queued_again_behind_its_earlier_turn_keeps_its_first_queueing_time(stream):
    """`entries_requeue` adds a new entry (a fresh id) for a turn that waited; the age still counts from the first."""
    inference.group_ensure()
    add_aged(stream, 8.0)
    [entry] = inference.entries_read(consumer="worker", count=1, block_ms=0)
    inference.entries_requeue([entry])
    assert 7.9 <= inference.queue_state().age_s <= 9.0
    [again] = inference.entries_read(consumer="worker", count=1, block_ms=0)
    assert again.turn == entry.turn and again.queued_ms == entry.queued_ms


def test_the_state_counts_unread_entries_and_those_handed_to_workers(stream):
    """XINFO GROUPS' lag and entries-read: what waits, and the counter whose pace says how fast workers read."""
    inference.group_ensure()
    for seconds in (5, 4, 3, 2, 1):
        add_aged(stream, seconds)
    inference.entries_done(inference.entries_read(consumer="worker", count=2, block_ms=0))
    state = inference.queue_state()
    assert (state.waiting, state.read) == (3, 2)


def test_in_a_burst_the_wait_is_the_queue_over_the_workers_recent_pace():
    """A queue that grows faster than it ages: 120 unread, read at 40/s over the last second, is a 3 s wait although
    its oldest entry waited only 0.4 s. With no pace measured yet, or none read meanwhile, the age is the wait."""
    wait = limits._QueueWait()
    state = lambda age, waiting, read: inference.QueueState(age_s=age, waiting=waiting, read=read)  # noqa: E731
    assert wait._expected(state(0.1, 10, 100), now=10.0) == 0.1
    assert wait._expected(state(0.2, 60, 120), now=10.4) == 0.2  # under half the pace window: not measured yet
    assert wait._expected(state(0.4, 120, 140), now=11.0) == pytest.approx(3.0)
    assert wait._expected(state(1.5, 200, 140), now=11.5) == 1.5  # nothing read in the window's reach: the age
    assert wait._expected(state(0.0, None, None), now=12.0) == 0.0
