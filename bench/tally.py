"""What a load run observed, counted: lost, duplicated and out-of-order answers, latencies, stage times.

Pure functions over plain records, so the counting is tested without a running stack.
"""

from dataclasses import dataclass, field

# Stage stamps in the order a message passes them; "sent" and "delivered" are the client's, the rest the
# stack's (Message.timings, written by conversations.services and the worker).
STAGES = ["sent", "received", "stored", "enqueued", "worker_start", "predicted", "answer_stored", "delivered"]


@dataclass
class ConversationLog:
    """One conversation as the client saw it. Times are Unix seconds (time.time(): one clock, one machine)."""

    conversation: str = ""
    sent: dict[str, float] = field(default_factory=dict)  # client_id -> send time
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> seq the server gave it
    answers: list[tuple[float, dict]] = field(default_factory=list)  # (arrival time, bot message frame)


@dataclass
class Counts:
    sent: int
    answered: int
    lost: int
    duplicated: int
    out_of_order: int
    redelivered_frames: int
    latencies_ms: list[float]
    delivered: dict[int, float]  # user seq -> first arrival of its answer, for one conversation at a time


def tally(log: ConversationLog, *, measured: set[str] | None = None) -> Counts:
    """Count one conversation. `measured` limits the counts to those client_ids (warm-up messages excluded).

    lost: sent, never answered (never acknowledged counts as lost too). duplicated: a second, different bot
    message (another seq) answering the same user message. out_of_order: an answer that arrives after an
    answer to a later user message, or with a lower seq than one already received. A frame repeated with the
    same seq is allowed by the protocol (docs/protocol.md) and only counted as redelivered_frames.
    """
    client_ids = [c for c in log.sent if measured is None or c in measured]
    by_seq = {log.acked[c]: c for c in client_ids if c in log.acked}
    answer_seqs: dict[int, set[int]] = {}
    delivered: dict[int, float] = {}
    out_of_order = redelivered = 0
    highest_reply = highest_seq = 0
    for arrived, frame in log.answers:
        reply_to, seq = frame["reply_to"], frame["seq"]
        seen = answer_seqs.setdefault(reply_to, set())
        if seq in seen:
            redelivered += 1
            continue
        seen.add(seq)
        if reply_to < highest_reply or seq < highest_seq:
            out_of_order += 1
        highest_reply, highest_seq = max(highest_reply, reply_to), max(highest_seq, seq)
        delivered.setdefault(reply_to, arrived)
    answered = [seq for seq in by_seq if seq in answer_seqs]
    return Counts(
        sent=len(client_ids),
        answered=len(answered),
        lost=len(client_ids) - len(answered),
        duplicated=sum(len(answer_seqs[seq]) - 1 for seq in answered),
        out_of_order=out_of_order,
        redelivered_frames=redelivered,
        latencies_ms=[(delivered[seq] - log.sent[by_seq[seq]]) * 1000 for seq in answered],
        delivered={seq: delivered[seq] for seq in answered},
    )


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def stage_durations(stamps: list[dict[str, float]]) -> dict[str, list[float]]:
    """Milliseconds between consecutive stages ("sent→received", …), over messages that have both stamps."""
    out: dict[str, list[float]] = {}
    for earlier, later in zip(STAGES, STAGES[1:]):
        out[f"{earlier}→{later}"] = [
            (s[later] - s[earlier]) * 1000 for s in stamps if earlier in s and later in s
        ]
    return out


def summary(values: list[float]) -> dict[str, float | None]:
    return {"p50_ms": _round(percentile(values, 50)), "p99_ms": _round(percentile(values, 99)), "n": len(values)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
