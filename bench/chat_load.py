"""Load a running Charla stack over WebSockets and report latency, throughput and correctness.

    python -m bench.chat_load --url ws://127.0.0.1:8000/ws/chat/demo/ --conversations 50 --rate 100 \
        --duration 20 --json bench/results/load.json

Opens N conversations (round-robin over the --url given, one per daphne process), sends messages at a total rate
(open loop, spread round-robin over the conversations, several may be in flight in one conversation) or, with
--closed, one message at a time per conversation.
Every message that got no answer, and every conversation that did not start, is counted by kind (`failures`,
bench.tally.KINDS: busy, rate_limited, no_answer_in_window, closed_by_server:<code>, connect_refused, …), and the
generator's own lag behind its schedule is reported apart (`generator`): it is the client's fault, not the stack's.
Only 127.0.0.1/localhost targets are accepted. With DATABASE_URL set (or --database-url), per-stage times are
read back from the stack's Message.timings after the run.
"""

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
import uuid
from collections import Counter
from urllib.parse import urlparse

import websockets

from bench.tally import REFUSALS, ConversationLog, generator_lag, percentile, stage_durations, summary, tally

TEXTS = [
    "hello", "hola", "what are your opening hours?", "¿a qué hora abren?", "where is my order?",
    "¿dónde está mi pedido?", "who are you?", "¿quién eres?", "thanks, bye", "gracias, adiós",
    "can I get a refund?", "quiero devolver un producto", "do you ship abroad?", "I need help with my account",
]  # fmt: skip
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Conversation:
    def __init__(self, socket, session: dict) -> None:
        self.socket = socket
        self.log = ConversationLog(conversation=session["conversation"])
        self.answered = asyncio.Event()
        self.closing = False  # set before the client closes the socket itself, at the end of a run

    async def send(self, text: str) -> str:
        client_id = uuid.uuid4().hex
        self.answered.clear()
        self.log.sent[client_id] = time.time()
        try:
            await self.socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        except websockets.ConnectionClosed:
            self.log.refused[client_id] = "send_failed"
            self.answered.set()  # a closed-loop sender must not wait for an answer that cannot come
        return client_id

    async def listen(self) -> None:
        try:
            async for raw in self.socket:
                self._on_frame(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        if not self.closing:
            self.log.closed = f"closed_by_server:{self.socket.close_code or 1006}"
        self.answered.set()

    def _on_frame(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "ack":
            self.log.acked[frame["client_id"]] = frame["seq"]
            self.log.refused.pop(frame["client_id"], None)
        elif kind == "message" and frame.get("role") == "bot":
            self.log.answers.append((time.time(), frame))
            self.answered.set()
        elif kind in ("busy", "error") and isinstance(frame.get("client_id"), str):
            code = frame.get("code")
            refusal = "busy" if kind == "busy" else code if code in REFUSALS else f"error:{code}"
            self.log.refused[frame["client_id"]] = refusal
            self.answered.set()


async def connect(url: str, origin: str) -> Conversation | str:
    """A conversation, or the kind of failure (bench.tally.KINDS) that kept it from starting."""
    try:
        socket = await websockets.connect(url, origin=origin, open_timeout=60, max_queue=None)
    except ConnectionRefusedError:
        return "connect_refused"
    except TimeoutError:
        return "connect_timeout"
    except websockets.InvalidStatus as rejected:
        return f"handshake_rejected:{rejected.response.status_code}"
    try:
        first = json.loads(await socket.recv())
    except websockets.ConnectionClosed as closed:
        return f"no_session:{closed.rcvd.code if closed.rcvd else 'closed'}"
    if first.get("type") != "session":
        await socket.close()
        return f"no_session:{first.get('code') or first.get('type')}"
    return Conversation(socket, first)


async def drive(conversations: list[Conversation], *, rate: float, seconds: float, closed: bool,
                lags: list[float], patience: float = 60.0) -> set[str]:
    """Send for `seconds`; returns the client_ids sent. Open loop keeps the rate whatever the answers do, and
    appends to `lags` how far behind its schedule each send went out (the generator's own lag). Closed loop
    sends the next message once the last is answered or refused, or `patience` seconds passed without."""
    texts = itertools.cycle(TEXTS)
    deadline = time.monotonic() + seconds
    if not conversations:
        return set()
    if closed:
        async def one(conversation: Conversation, interval: float) -> list[str]:
            ids = []
            while time.monotonic() < deadline:
                ids.append(await conversation.send(next(texts)))
                try:
                    await asyncio.wait_for(conversation.answered.wait(), patience)
                except TimeoutError:
                    pass  # counted as no_answer_in_window (or no_ack) unless it comes during the drain
                await asyncio.sleep(interval)
            return ids

        interval = len(conversations) / rate if rate else 0
        results = await asyncio.gather(*(one(c, interval) for c in conversations))
        return {client_id for ids in results for client_id in ids}
    sent, started, n = set(), time.monotonic(), 0
    for conversation in itertools.cycle(conversations):
        due = started + n / rate
        if due >= deadline:
            return sent
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        lags.append(max(0.0, time.monotonic() - due))
        sent.add(await conversation.send(next(texts)))
        n += 1
    return sent


async def run(args: argparse.Namespace) -> dict:
    semaphore = asyncio.Semaphore(50)

    async def opened(n: int) -> Conversation | str:
        async with semaphore:
            return await connect(args.url[n % len(args.url)], args.origin)

    started = await asyncio.gather(*(opened(n) for n in range(args.conversations)))
    conversations = [c for c in started if isinstance(c, Conversation)]
    not_started = Counter(c for c in started if isinstance(c, str))
    listeners = [asyncio.create_task(c.listen()) for c in conversations]
    warmup, lags = set(), []
    if args.warmup:
        warmup = await drive(conversations, rate=args.rate, seconds=args.warmup, closed=args.closed, lags=[],
                             patience=args.drain)
        await _drain(conversations, set(), args.drain)
    measured = await drive(conversations, rate=args.rate, seconds=args.duration, closed=args.closed, lags=lags,
                           patience=args.drain)
    await _drain(conversations, measured, args.drain)
    for conversation in conversations:
        conversation.closing = True
        await conversation.socket.close()
    for listener in listeners:
        listener.cancel()
    result = report(conversations, measured, database_url=args.database_url)
    result["failures"] = dict(sorted((Counter(result["failures"]) + not_started).items()))
    result["generator"] = generator_lag(lags)
    if result["generator"]["late_sends"]:
        result["failures"]["generator_late"] = result["generator"]["late_sends"]
    return {**result, "conversations_started": len(conversations), "sent_total": len(warmup) + len(measured)}


async def _drain(conversations: list[Conversation], measured: set[str], seconds: float) -> None:
    """Wait until every message sent so far is answered or refused, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_settled(c) for c in conversations):
            return
        await asyncio.sleep(0.05)


def _settled(conversation: Conversation) -> bool:
    log = conversation.log
    if log.closed:
        return True
    answered = {f["reply_to"] for _, f in log.answers}
    return all(client_id in log.refused or log.acked.get(client_id) in answered for client_id in log.sent)


def report(conversations: list[Conversation], measured: set[str], *, database_url: str | None) -> dict:
    counts = [tally(c.log, measured=measured) for c in conversations]
    latencies = [ms for c in counts for ms in c.latencies_ms]
    first_send = min((t for c in conversations for cid, t in c.log.sent.items() if cid in measured), default=0)
    last = max((t for c in counts for t in c.delivered.values()), default=first_send)
    answered = sum(c.answered for c in counts)
    keys = ("sent", "answered", "refused", "lost", "duplicated", "out_of_order", "redelivered_frames")
    result = {
        **{key: sum(getattr(c, key) for c in counts) for key in keys},
        "throughput": round(answered / (last - first_send), 2) if last > first_send else 0.0,
        **{k: v for k, v in zip(("p50_ms", "p95_ms", "p99_ms"), _percentiles(latencies))},
        "failures": dict(sum((c.failures for c in counts), Counter())),
        "stages": {},
    }
    if database_url:
        stamps = stage_stamps(conversations, counts, measured, database_url)
        result["stages"] = {name: summary(values) for name, values in stage_durations(stamps).items()}
    return result


def _percentiles(latencies: list[float]) -> list[float | None]:
    return [None if (p := percentile(latencies, q)) is None else round(p, 2) for q in (50, 95, 99)]


def stage_stamps(conversations, counts, measured: set[str], database_url: str) -> list[dict[str, float]]:
    """The stack's stage stamps of every measured message, plus the client's sent and delivered times."""
    import psycopg

    ids = [c.log.conversation for c in conversations]
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT conversation_id::text, seq, timings FROM conversations_message"
            " WHERE conversation_id = ANY(%s::uuid[]) AND role = 'user'", (ids,),
        ).fetchall()  # fmt: skip
    stored = {(conversation, seq): timings for conversation, seq, timings in rows}
    stamps = []
    for conversation, count in zip(conversations, counts):
        by_seq = {seq: cid for cid, seq in conversation.log.acked.items() if cid in measured}
        for seq, delivered in count.delivered.items():
            timings = stored.get((conversation.log.conversation, seq)) or {}
            sent = conversation.log.sent[by_seq[seq]]
            stamps.append({**timings, "sent": sent, "delivered": delivered})
    return stamps


def print_table(result: dict) -> None:
    keys = ("sent", "answered", "refused", "lost", "duplicated", "out_of_order", "throughput", "p50_ms", "p95_ms",
            "p99_ms")  # fmt: skip
    for key in keys:
        print(f"{key:>22}  {result[key]}")
    print(f"{'failures by kind':>22}  {'none' if not result['failures'] else ''}")
    for kind, count in result["failures"].items():
        print(f"{kind:>40}  {count}")
    if any(kind == "rate_limited" or kind.endswith(":rate_limited") for kind in result["failures"]):
        print("  the chat's rate limits refused messages or visitors: one generator is one address with few visitors;"
              " start the stack with CHARLA_RATE_CHAT_MESSAGES=off CHARLA_RATE_CHAT_VISITORS=off (bench.stack does)")
    lag = result["generator"]
    print(f"{'generator lag':>22}  p50 {lag['lag_p50_ms']} ms  p99 {lag['lag_p99_ms']} ms  max {lag['lag_max_ms']} ms")
    for name, values in result["stages"].items():
        print(f"{name:>26}  p50 {values['p50_ms']} ms  p99 {values['p99_ms']} ms  (n={values['n']})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", help="repeat it to spread the conversations over several "
                        "daphne processes (default ws://127.0.0.1:8000/ws/chat/demo/)")  # fmt: skip
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second, all conversations together")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured sending")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured sending first")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for the last answers")
    parser.add_argument("--closed", action="store_true", help="one message at a time per conversation")
    parser.add_argument("--origin", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    args.url = args.url or ["ws://127.0.0.1:8000/ws/chat/demo/"]
    if any(urlparse(url).hostname not in LOCAL_HOSTS for url in args.url):
        parser.error("load tests target 127.0.0.1 only")
    if args.duration > 600 or args.conversations > 10_000 or args.rate <= 0:
        parser.error("bounded runs only: --duration ≤ 600, --conversations ≤ 10000, --rate > 0")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    result["config"] = {k: v for k, v in vars(args).items() if k not in ("json", "database_url")}
    print_table(result)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2, ensure_ascii=False)
    return result


if __name__ == "__main__":
    sys.exit(0 if main()["lost"] == 0 else 1)
