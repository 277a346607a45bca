"""Pushes to sockets through the channel layer. Callers run these after commit (transaction.on_commit).

Outside an event loop (Celery and answer workers), every push goes through one event loop per process, kept
in a background thread, so the channel layer's Redis connections are opened once, not once per push as a
fresh `async_to_sync` loop would. The in-memory layer (the embedded defaults) keeps `async_to_sync`: its
queues belong to the consumers' own loop.
"""

import asyncio
import os
import threading
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from ..models import Conversation, Message
from ..selectors import message_payload

CONSOLE_GROUP = "console"  # every open staff console: the handoff queue changed
SEND_TIMEOUT_S = 10
_loop_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None  # (pid, loop): a forked child starts its own


def _send(*events: tuple[str, dict[str, Any]]) -> None:
    """Send each (group, event) in order."""
    layer = get_channel_layer()

    async def send_all() -> None:
        for group, event in events:
            await layer.group_send(group, event)

    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(send_all)()
    else:
        asyncio.run_coroutine_threadsafe(send_all(), _process_loop()).result(timeout=SEND_TIMEOUT_S)


def _process_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="charla-publish", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def replies_publish(*, replies: list[Message], console: set[int] = frozenset()) -> None:
    """Push stored bot messages to every socket of their conversations, in order (and to staff watching the
    conversations whose reply pk is in `console`)."""
    events = []
    for reply in replies:
        payload = message_payload(reply)
        events.append((Conversation(id=reply.conversation_id).group_name, {"type": "bot.reply", "message": payload}))
        if reply.pk in console:
            events.append(_console_event(reply.conversation_id, payload))
    _send(*events)


def reply_publish(*, reply: Message) -> None:
    """Push a stored bot message again (a redelivered task may follow a publish that never happened)."""
    replies_publish(replies=[reply])


def agent_message_publish(*, message: Message) -> None:
    payload = message_payload(message)
    _send(
        (Conversation(id=message.conversation_id).group_name, {"type": "agent.message", "message": payload}),
        _console_event(message.conversation_id, payload),
    )


def console_message_publish(*, conversation_id: uuid.UUID, payload: dict[str, Any]) -> None:
    _send(_console_event(conversation_id, payload))


def _console_event(conversation_id: uuid.UUID, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    group = Conversation(id=conversation_id).console_group_name
    return group, {"type": "console.message", "conversation": str(conversation_id), "message": payload}


def handoff_publish(*, conversation_id: uuid.UUID, state: str, agent: str | None) -> None:
    """Tell the visitor's sockets who answers now, and every console that the queue changed."""
    _send(
        (Conversation(id=conversation_id).group_name, {"type": "handoff.changed", "state": state, "agent": agent}),
        (CONSOLE_GROUP, {"type": "console.queue"}),
    )


def session_end_publish(*, conversation_id: uuid.UUID, reason: str) -> None:
    _send((Conversation(id=conversation_id).group_name, {"type": "session.end", "reason": reason}))
