import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import connection

from intents.selectors import bot_get

from . import limits, metrics, selectors, services
from .models import Conversation, Message
from .origins import origin_allowed
from .streaming import stream_frames

REJECTED_ORIGIN = 4003
UNKNOWN_BOT = 4004
SESSION_ENDED = 4010
TOO_MANY_VISITORS = 4029  # 4000 + HTTP's 429


def db_call(function):
    """`function` run off the event loop. On PostgreSQL each call takes a pool thread with its own connection,
    so sockets do not queue behind one another's round trips and row locks on Channels' single thread; SQLite
    (the embedded default) has no row locks, so there every call stays on that one thread."""
    return database_sync_to_async(function, thread_sensitive=not connection.features.has_select_for_update)


def _message_accept(*, visitor_id: uuid.UUID, **receive: Any) -> tuple[int | None, Message | None]:
    """(seconds to wait, None) when the visitor's rate limit refuses the message, else (None, the message
    stored by `message_receive`, whose exceptions pass through). Counting the limit and storing on one thread
    hop instead of two: each hop is a visible share of the web process's CPU per turn (docs/performance.md)."""
    if (wait := limits.message_wait(visitor_id=visitor_id)) is not None:
        return wait, None
    return None, services.message_receive(**receive)[0]


class DbCallConsumer(AsyncWebsocketConsumer):
    """A socket consumer that touches the database only through `db_call`.

    Channels' own dispatch first closes stale database connections, on its one shared sync thread, for every
    event: each frame received and each answer delivered waited in that thread's queue behind every other
    socket's. `db_call`'s threads close stale connections before and after each call, so that hop is skipped."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class ChatConsumer(DbCallConsumer):
    """One visitor's socket to one bot: JSON frames as documented in docs/protocol.md."""

    async def _refuse(self, code: int) -> None:
        """Open and close at once, with `code` and nothing else. Refused at the handshake, a browser sees only
        close code 1006, the same as an outage, and the widget would retry for ever."""
        await self.accept()
        await self.close(code=code)

    async def connect(self) -> None:
        self.bot = await db_call(bot_get)(slug=self.scope["url_route"]["kwargs"]["bot"])
        if self.bot is None:
            await self._refuse(UNKNOWN_BOT)
            return
        if not origin_allowed(headers=self.scope.get("headers", []), bot_origins=self.bot.allowed_origins):
            await self._refuse(REJECTED_ORIGIN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        user = self.scope.get("user")
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        self.streaming = (query.get("stream") or [""])[0] in {"1", "true"}  # opt-in: older clients never see one
        token = (query.get("token") or [None])[0]
        wait = await limits.new_visitor_wait(scope=self.scope, user_id=self.user_id, token=token)
        if wait is not None:
            await self.accept()
            await self._error("rate_limited", f"Too many new visitors from this address; retry in {wait} s.", wait=wait)
            await self.close(code=TOO_MANY_VISITORS)
            return
        await self._session_enter(token=token, language=(query.get("lang") or [None])[0])
        await self.accept()
        await self._send_session()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "session"):
            await self.channel_layer.group_discard(self.session.group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self._error("binary_frame", "Only JSON text frames are accepted.")
            return
        try:
            frame = json.loads(text_data)
        except json.JSONDecodeError:
            await self._error("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict):
            await self._error("invalid_frame", "A frame must be a JSON object.")
            return
        handler = {"message": self._on_message, "resume": self._on_resume}.get(frame.get("type"))
        if handler is None:
            await self._error("unknown_type", f"Unknown frame type {frame.get('type')!r}; expected message or resume.")
            return
        await handler(frame)

    async def _on_message(self, frame: dict[str, Any]) -> None:
        busy = await limits.answer_queue_wait()
        if busy is not None and self.handoff == Conversation.Handoff.NONE:
            # Shed before the rate limit counts it: neither stored nor acknowledged. A conversation a person may
            # have (the hint is not `none`) goes on to message_receive, which decides under the row lock.
            await self._send_busy(client_id=frame.get("client_id"), wait=busy)
            return
        receive = {"text": frame.get("text"), "client_id": frame.get("client_id"), "shed": busy is not None}
        try:
            try:
                wait, message = await db_call(_message_accept)(
                    visitor_id=self.session.visitor_id, conversation_id=self.session.conversation_id, **receive
                )
            except services.ConversationClosed:  # counted by the rate limit already
                wait = None
                await self._session_restart()
                message, _ = await db_call(services.message_receive)(
                    conversation_id=self.session.conversation_id, **receive
                )
        except services.MessageRejected as rejected:
            await self._error(rejected.code, rejected.message, client_id=frame.get("client_id"))
            return
        except services.QueueBusy:  # the bot would have to answer it: shed after all, nothing was written
            await self._send_busy(client_id=frame.get("client_id"), wait=busy)
            return
        if wait is not None:  # neither stored nor acknowledged: the client sends it again after `retry_after`
            message = f"Too many messages; send this one again in {wait} s."
            await self._error("rate_limited", message, client_id=frame.get("client_id"), wait=wait)
            return
        await self._send({"type": "ack", "client_id": message.client_id, "seq": message.seq})
        if message.status == message.Status.PENDING:
            await self._send({"type": "typing", "on": True})

    async def _on_resume(self, frame: dict[str, Any]) -> None:
        after_seq = frame.get("after_seq", 0)
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            await self._error("invalid_after_seq", "after_seq must be a non-negative integer.")
            return
        frames = await db_call(selectors.messages_after)(
            conversation_id=self.session.conversation_id, after_seq=after_seq
        )
        for payload in frames:
            await self._send(payload)

    async def _session_restart(self) -> None:
        """The conversation ended (idle too long): continue in a new one and tell the client with a `session` frame."""
        await self.channel_layer.group_discard(self.session.group_name, self.channel_name)
        await self._session_enter(token=self.session.token, language=None)
        await self._send_session()

    async def _session_enter(self, *, token: str | None, language: str | None) -> None:
        self.session = await db_call(services.session_open)(
            bot=self.bot, user_id=self.user_id, token=token, language=language
        )
        self.handoff = self.session.handoff
        await self.channel_layer.group_add(self.session.group_name, self.channel_name)

    async def _send_session(self) -> None:
        await self._send(
            {
                "type": "session",
                "conversation": str(self.session.conversation_id),
                "token": self.session.token,
                "last_seq": self.session.last_seq,
            }
        )

    async def agent_message(self, event: dict[str, Any]) -> None:
        """A staff member's message, while they have taken the conversation over."""
        await self._send(event["message"])

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        self.handoff = event["state"]
        await self._send({"type": "handoff", "state": event["state"], "agent": event["agent"]})

    async def session_end(self, event: dict[str, Any]) -> None:
        """The conversation's data was deleted (or expired): nothing more can be said in it on this socket."""
        await self._send({"type": "session_end", "reason": event["reason"]})
        await self.close(code=SESSION_ENDED)

    async def bot_reply(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message.get("role") == "bot" and self.streaming:
            for frame in stream_frames(message):
                await self._send(frame)
        await self._send(message)

    async def _send_busy(self, *, client_id: Any, wait: int) -> None:
        metrics.message_shed(channel="socket")
        message = f"The bot is busy; send this message again in {wait} s."
        frame = {"type": "busy", "message": message, "retry_after": wait}
        if isinstance(client_id, str):
            frame["client_id"] = client_id
        await self._send(frame)

    async def _error(self, code: str, message: str, client_id: Any = None, wait: int | None = None) -> None:
        frame = {"type": "error", "code": code, "message": message}
        if isinstance(client_id, str):
            frame["client_id"] = client_id
        if wait is not None:
            frame["retry_after"] = wait
        await self._send(frame)

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
