"""A browser tab as the widget behaves, for the fault suite: it keeps every frame it receives, per socket.

On every (re)connect it sends `resume` from the highest seq it holds without a gap, then its unacknowledged
messages again with their `client_id` (static/widget/widget.js does the same); when its socket closes it
reconnects with backoff. What it recorded is checked by `tests.faults.ledger`.
"""

import asyncio
import json
import socket as sockets
import time
import uuid
from dataclasses import dataclass, field

import websockets

ORIGIN = "http://127.0.0.1:8000"
# Sent right after `resume`: the server answers it with an error frame, and only after it has replayed, since a
# socket's frames are handled one at a time. Frames that arrive between the two are the replay.
REPLAY_END = {"type": "resume", "after_seq": -1}
REFUSED = {4003, 4004}  # origin not allowed, unknown bot: never retried


@dataclass
class SocketLog:
    """What one socket of a tab received: ("live" | "replay", seq) of each `message` frame, and how it ended."""

    messages: list[tuple[str, int]] = field(default_factory=list)
    close_code: int | None = None


class Tab:
    """One tab of a visitor (a second tab of the same visitor passes the first one's token)."""

    def __init__(self, url: str, *, token: str | None = None, receive_buffer: int | None = None) -> None:
        self.url, self.token, self.receive_buffer = url, token, receive_buffer
        self.conversation: str | None = None
        self.sent: dict[str, str] = {}  # client_id -> text, every message this tab sent, in order
        self.acks: dict[str, list[int]] = {}  # client_id -> the seq of each ack received (a resend acks again)
        self.errors: list[dict] = []  # error frames other than the replay marker's
        self.bot: dict[int, dict] = {}  # seq -> the bot message frame, as the widget keeps them
        self.users: set[int] = set()  # seqs of user messages this tab knows (its acks, other tabs' via replay)
        self.sockets: list[SocketLog] = []
        self.received_bytes = 0  # payloads of every frame received
        self._socket = None
        self._window: tuple[int, list[tuple[str, int]]] | None = None  # a resume's after_seq, what arrived since
        self._tasks: set[asyncio.Task] = set()
        self._closing = False
        self._reader: asyncio.Task | None = None

    # --- connection -------------------------------------------------------------------------------------------
    async def open(self) -> "Tab":
        await self._connect()
        self._reader = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        self._closing = True
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)

    async def _connect(self) -> None:
        """Connect until it works (backoff 0.2 s doubling to 2 s), then resume and resend, as the widget does."""
        delay = 0.2
        while True:
            try:
                self._socket = await self._handshake()
                break
            except (OSError, asyncio.TimeoutError, websockets.WebSocketException, KeyError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        await self._resume()
        for client_id, text in list(self.sent.items()):  # a copy: `say` may add to it meanwhile
            if client_id not in self.acks:
                await self._send({"type": "message", "client_id": client_id, "text": text})

    async def _handshake(self):
        url = f"{self.url}?token={self.token}" if self.token else self.url
        sock = None
        if self.receive_buffer:  # a small kernel buffer, so that unread answers pile up in the server, not here
            sock = sockets.socket()
            sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, self.receive_buffer)
            host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        # No client keepalive (a browser's JS has none), and no queue limit: only pause_reading stops reading.
        socket = await websockets.connect(
            url, origin=ORIGIN, open_timeout=10, sock=sock, max_queue=None, ping_interval=None
        )
        try:
            session = json.loads(await asyncio.wait_for(socket.recv(), 10))
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code in REFUSED:
                raise RuntimeError(f"the server refused the socket: {closed.rcvd}") from closed  # the widget gives up
            raise
        if session["type"] != "session":
            await socket.close()
            raise KeyError(f"no session frame: {session}")
        assert self.conversation in (None, session["conversation"]), "the visitor was moved to a new conversation"
        self.conversation, self.token = session["conversation"], session["token"]
        self.sockets.append(SocketLog())
        return socket

    async def _read(self) -> None:
        while True:
            socket = self._socket
            try:
                async for raw in socket:
                    self.received_bytes += len(raw.encode() if isinstance(raw, str) else raw)
                    self._record(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            self.sockets[-1].close_code = socket.close_code
            if self._window is not None:  # the socket died before its replay ended
                self.sockets[-1].messages += [("replay", seq) for role, seq in self._window[1] if role == "bot"]
                self._window = None
            if self._closing:
                return
            await self._connect()

    async def _resume(self) -> None:
        """`resume` from the highest seq held without a gap, then the marker; `_window_close` sorts out what
        arrived in between."""
        after = self.held_without_gap()
        self._window = (after, [])
        await self._send({"type": "resume", "after_seq": after})
        await self._send(REPLAY_END)

    def _record(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "ack":
            self.acks.setdefault(frame["client_id"], []).append(frame["seq"])
            self.users.add(frame["seq"])
        elif kind == "message":
            self._message(frame)
        elif kind == "error" and frame.get("code") == "invalid_after_seq":
            self._window_close()
        elif kind == "error":
            self.errors.append(frame)

    def _message(self, frame: dict) -> None:
        seq, role = frame["seq"], frame["role"]
        hole = seq > self.held_without_gap() + 1
        if role == "bot":
            self.bot.setdefault(seq, frame)
        else:
            self.users.add(seq)
        if self._window is not None:
            self._window[1].append((role, seq))
        elif role == "bot":
            self.sockets[-1].messages.append(("live", seq))
            if hole:  # as the widget's fillGap: a seq past a hole asks for a resume from the hole
                self._spawn(self._resume())

    def _window_close(self) -> None:
        """Between a `resume` and the marker's error frame come the pushes the socket handled before the
        resume, then the replay: every message from after_seq + 1 on, gapless. Only the pushes are live."""
        if self._window is None:
            return
        after, frames = self._window
        self._window = None
        seqs = [seq for _, seq in frames]
        replay_from = next(
            (i for i in range(len(seqs)) if seqs[i:] == list(range(after + 1, after + 1 + len(seqs) - i))), len(seqs)
        )
        for n, (role, seq) in enumerate(frames):
            if role == "bot":
                self.sockets[-1].messages.append(("live" if n < replay_from else "replay", seq))
        if self.held_without_gap() < max(self.users | self.bot.keys(), default=0):
            self._spawn(self._resume())  # a push past a hole arrived during the replay

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, frame: dict) -> None:
        """Send on the current socket; a closed one is fine: the reconnect sends what was not acknowledged."""
        try:
            await self._socket.send(json.dumps(frame))
        except websockets.ConnectionClosed:
            pass

    # --- what a test does -------------------------------------------------------------------------------------
    async def say(self, text: str) -> str:
        """Send a message (not waiting for anything); its client_id."""
        client_id = uuid.uuid4().hex
        self.sent[client_id] = text
        await self._send({"type": "message", "client_id": client_id, "text": text})
        return client_id

    async def catch_up(self) -> None:
        """`resume` on the open socket, as the widget does when it sees a hole: fetch what it missed, and wait
        until the replay has arrived."""
        await self._resume()
        await until(lambda: self._window is None, timeout=30)

    def pause_reading(self) -> None:
        """Read nothing more from the socket: the server's frames pile up in its buffers."""
        self._socket.transport.pause_reading()

    def resume_reading(self) -> None:
        self._socket.transport.resume_reading()

    def held_without_gap(self) -> int:
        held = self.users | self.bot.keys()
        seq = 0
        while seq + 1 in held:
            seq += 1
        return seq

    def answered(self) -> set[int]:
        """Seqs of this tab's own messages whose answer it holds."""
        replied = {frame["reply_to"] for frame in self.bot.values()}
        return {seqs[0] for seqs in self.acks.values()} & replied

    def done(self) -> bool:
        return len(self.acks) == len(self.sent) and len(self.answered()) == len(self.sent)


TEXTS = ["hello", "what time do you open?", "where is my order?", "who are you?", "thanks", "what can you do?",
         "hola", "¿a qué hora abrís?", "gracias", "bye"]  # fmt: skip


async def talk(tabs: list[Tab], seconds: float, every: float = 1.0) -> list[tuple[Tab, str]]:
    """Each tab says something every `every` seconds for `seconds`; (tab, client_id) of each message."""
    said = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for tab in tabs:
            said.append((tab, await tab.say(TEXTS[len(said) % len(TEXTS)])))
        await asyncio.sleep(every)
    return said


async def until(condition, timeout: float, step: float = 0.05) -> float:
    """Wait until `condition()` holds; the seconds it took. Fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not reached within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - start
