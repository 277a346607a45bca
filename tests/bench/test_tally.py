"""The load client's counting: what it calls lost, duplicated and out of order, and each failure's kind."""

from bench.tally import ConversationLog, generator_lag, percentile, stage_durations, tally


def answer(seq: int, reply_to: int) -> dict:
    return {"type": "message", "role": "bot", "seq": seq, "reply_to": reply_to}


def log_of(sent: int, answers: list[tuple[float, dict]]) -> ConversationLog:
    """`sent` messages sent at t=0, 1, 2…, acknowledged as user seqs 1, 3, 5… (each answer takes the seq after)."""
    log = ConversationLog(conversation="c")
    for i in range(sent):
        log.sent[f"m{i}"] = float(i)
        log.acked[f"m{i}"] = 2 * i + 1
    log.answers = answers
    return log


def test_a_clean_run_counts_every_answer_once_with_its_latency():
    """Every message answered once, in order: nothing lost, duplicated or out of order; latency from its send."""
    counts = tally(log_of(2, [(0.5, answer(2, 1)), (1.25, answer(4, 3))]))
    assert (counts.sent, counts.answered, counts.lost, counts.duplicated, counts.out_of_order) == (2, 2, 0, 0, 0)
    assert counts.latencies_ms == [500.0, 250.0]


def test_an_unanswered_or_unacknowledged_message_is_lost():
    """A message with no answer is lost, and so is one the server never acknowledged."""
    log = log_of(3, [(0.5, answer(2, 1))])
    del log.acked["m2"]
    counts = tally(log)
    assert (counts.sent, counts.answered, counts.lost) == (3, 1, 2)


def test_every_unanswered_message_is_counted_once_under_its_kind():
    """Acknowledged and unanswered: no_answer_in_window. Refused: busy, rate_limited or error:<code>, not lost.
    Never heard of on a socket the server closed: closed_by_server:<code>; on an open one: no_ack."""
    log = log_of(6, [(0.5, answer(2, 1))])
    for client_id, kind in (("m2", "busy"), ("m3", "rate_limited"), ("m4", "error:text_too_long")):
        del log.acked[client_id]
        log.refused[client_id] = kind
    del log.acked["m5"]
    counts = tally(log)
    assert counts.failures == {"no_answer_in_window": 1, "busy": 1, "rate_limited": 1, "error:text_too_long": 1,
                               "no_ack": 1}  # fmt: skip
    assert (counts.answered, counts.refused, counts.lost) == (1, 3, 2)
    log.closed = "closed_by_server:1011"
    assert tally(log).failures["closed_by_server:1011"] == 1


def test_duplicates_and_out_of_order_answers_are_kinds_too():
    """The product's own faults appear in the failures beside the refusals."""
    counts = tally(log_of(2, [(1.5, answer(4, 3)), (1.6, answer(2, 1)), (1.7, answer(5, 1))]))
    assert counts.failures == {"duplicated": 1, "out_of_order": 2}


def test_generator_lag_counts_sends_over_100_ms_late():
    """The generator's lag behind its schedule is its own figure, with the sends over 100 ms late counted."""
    lag = generator_lag([0.0, 0.05, 0.2, 0.5])
    assert lag["late_sends"] == 2 and lag["lag_max_ms"] == 500.0 and lag["lag_p50_ms"] == 50.0
    assert generator_lag([])["late_sends"] == 0


def test_a_second_answer_with_another_seq_is_a_duplicate_but_a_repeated_frame_is_not():
    """Two bot messages for one user message are a duplicate; the same frame twice is a permitted redelivery."""
    counts = tally(log_of(1, [(0.5, answer(2, 1)), (0.6, answer(2, 1)), (0.7, answer(3, 1))]))
    assert (counts.answered, counts.duplicated, counts.redelivered_frames, counts.lost) == (1, 1, 1, 0)
    assert counts.latencies_ms == [500.0]


def test_an_answer_arriving_after_the_answer_to_a_later_message_is_out_of_order():
    """Answers must arrive in the order of the messages they answer."""
    counts = tally(log_of(2, [(1.5, answer(4, 3)), (1.6, answer(2, 1))]))
    assert (counts.answered, counts.out_of_order) == (2, 1)


def test_warm_up_messages_are_left_out_of_the_counts():
    """Only the measured client_ids count; a warm-up message's answer neither adds nor goes missing."""
    counts = tally(log_of(3, [(0.5, answer(2, 1)), (2.5, answer(6, 5))]), measured={"m1", "m2"})
    assert (counts.sent, counts.answered, counts.lost) == (2, 1, 1)
    assert counts.latencies_ms == [500.0]


def test_percentile_is_nearest_rank():
    """p50 of 1..10 is 5, p99 is 10, p100 the maximum; nothing measured gives None."""
    values = [float(v) for v in range(10, 0, -1)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (5.0, 10.0, 10.0)
    assert percentile([], 50) is None


def test_stage_durations_pair_consecutive_stamps_and_skip_missing_ones():
    """Each stage is the gap to the next stamp, in ms; a message missing a stamp is left out of that stage only."""
    full = {"sent": 0.0, "received": 0.001, "stored": 0.003, "enqueued": 0.004, "worker_start": 0.010,
            "predicted": 0.022, "answer_stored": 0.025, "delivered": 0.027}  # fmt: skip
    partial = {"sent": 1.0, "received": 1.002}
    stages = stage_durations([full, partial])
    assert [round(v, 3) for v in stages["sent→received"]] == [1.0, 2.0]
    assert [round(v, 3) for v in stages["worker_start→predicted"]] == [12.0]
    assert list(stages) == [
        "sent→received", "received→stored", "stored→enqueued", "enqueued→worker_start",
        "worker_start→predicted", "predicted→answer_stored", "answer_stored→delivered",
    ]  # fmt: skip
