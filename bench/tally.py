"""What a load run observed, counted: lost, duplicated and out-of-order answers, latencies, stage times, and every
message that was not answered by the kind of failure that kept it (KINDS).

Pure functions over plain records, so the counting is tested without a running stack.
"""

from collections import Counter
from dataclasses import dataclass, field

# Why a sent message got no answer, or a socket no conversation: each failure is counted under one kind.
KINDS = {
    "busy": "refused with a `busy` frame: the answer queue was past capacity (not stored; retry after)",
    "rate_limited": "refused with a `rate_limited` error frame (not stored; retry after)",
    "error:<code>": "refused with an error frame of that code (bad input: not stored)",
    "no_answer_in_window": "acknowledged (stored) but not answered before the run's drain window ended",
    "no_ack": "neither acknowledged nor refused while the socket stayed open",
    "closed_by_server:<code>": "the server closed the socket (that close code) before acknowledging it",
    "send_failed": "the socket was already closed when the client sent it",
    "connect_refused": "a conversation's TCP connection was refused",
    "connect_timeout": "a conversation's handshake did not finish in time",
    "handshake_rejected:<status>": "the server answered the WebSocket handshake with that HTTP status",
    "no_session:<frame or code>": "the socket opened but its first frame was not `session` (e.g. rate_limited, 4029)",
    "duplicated": "a second, different answer to one message",
    "out_of_order": "an answer that arrived after the answer to a later message",
    "generator_late": "the load generator sent a message over 100 ms behind its schedule (the client's fault)",
}
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
    refused: dict[str, str] = field(default_factory=dict)  # client_id -> kind of its latest refusal (KINDS)
    closed: str | None = None  # "closed_by_server:<code>" once the server closed the socket


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
    refused: int = 0  # sent, answered with a clear refusal frame (busy, rate_limited, error): not stored
    failures: Counter = field(default_factory=Counter)  # kind (KINDS) -> count, every unanswered message once


def tally(log: ConversationLog, *, measured: set[str] | None = None) -> Counts:
    """Count one conversation. `measured` limits the counts to those client_ids (warm-up messages excluded).

    refused: sent and refused by a frame that says so (busy, rate_limited, an error code): the client knows.
    lost: sent, neither answered nor refused (acknowledged and unanswered, or never acknowledged); every
    unanswered message is also counted in `failures` under one kind (KINDS). duplicated: a second, different bot
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
    duplicated = sum(len(answer_seqs[seq]) - 1 for seq in answered)
    failures = Counter(_failure_kind(log, c) for c in client_ids if log.acked.get(c) not in answer_seqs)
    failures.update({"duplicated": duplicated, "out_of_order": out_of_order})
    refused = sum(n for kind, n in failures.items() if kind in REFUSALS or kind.startswith("error:"))
    return Counts(
        sent=len(client_ids),
        answered=len(answered),
        lost=len(client_ids) - len(answered) - refused,
        duplicated=duplicated,
        out_of_order=out_of_order,
        redelivered_frames=redelivered,
        latencies_ms=[(delivered[seq] - log.sent[by_seq[seq]]) * 1000 for seq in answered],
        delivered={seq: delivered[seq] for seq in answered},
        refused=refused,
        failures=+failures,
    )


REFUSALS = {"busy", "rate_limited"}


def _failure_kind(log: ConversationLog, client_id: str) -> str:
    """Why this message has no answer: acknowledged (late), refused, the socket closed, or nothing heard."""
    if client_id in log.acked:
        return "no_answer_in_window"
    return log.refused.get(client_id) or log.closed or "no_ack"


def generator_lag(lags_s: list[float], *, late_s: float = 0.1) -> dict[str, float | int | None]:
    """How far behind its schedule the load generator sent (the generator's fault, not the stack's)."""
    ms = [lag * 1000 for lag in lags_s]
    return {"late_sends": sum(lag > late_s for lag in lags_s), "lag_p50_ms": _round(percentile(ms, 50)),
            "lag_p99_ms": _round(percentile(ms, 99)), "lag_max_ms": _round(max(ms, default=None))}  # fmt: skip


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
