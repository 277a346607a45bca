"""The REST channel's turn: a message posted over HTTP goes the chat socket's way, and the caller waits for its answer.

Like a chat socket, the caller joins the conversation's channel-layer group before the message is stored, so the
answer's `bot.reply` cannot be published before anyone listens, whichever answer worker (or, without Redis, the
web process itself) answers it. The database is read first (a retried post of a message answered before) and
again whenever the group is silent for a while or says something else (a person took the conversation over
meanwhile), so a lost publish costs at most POLL_S seconds, never the answer.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer

from intents.models import Bot

from . import selectors, services
from .consumers import db_call
from .models import Message

POLL_S = 2.0


class ReplyTimeout(Exception):
    """No answer in time. The message is stored (`seq`) and will be answered; the caller can read it later."""

    def __init__(self, *, conversation_id: Any, seq: int, timeout: float) -> None:
        super().__init__(f"no answer within {timeout:g} s")
        self.conversation_id = conversation_id
        self.seq = seq


@dataclass(frozen=True)
class RestTurn:
    conversation_id: Any
    seq: int
    messages: list[dict[str, Any]]  # protocol frames: staff messages since the sender's last turn, then the answer


async def rest_turn(
    *, bot: Bot, sender: str, text: Any, client_id: str, timeout: float, shed: bool = False
) -> RestTurn:
    """Store the sender's message (once per client_id) in its open conversation and wait for the answer.

    While a person has the conversation the bot is silent: the turn returns at once with what that person wrote
    since the sender's last turn. Raises MessageRejected for bad input (nothing stored) and ReplyTimeout; with
    `shed` (the answer queue is past capacity), QueueBusy for a message the bot would answer (nothing stored).
    """
    text, client_id = services.message_validate(text=text, client_id=client_id)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    group = None
    try:
        for attempt in range(2):  # a conversation that ends (idle) as we post: the next one takes the message
            session = await db_call(services.session_open)(
                bot=bot, user_id=None, token=None, language=None, sender=sender
            )
            group = session.group_name
            await layer.group_add(group, channel)
            try:
                message, _ = await db_call(services.message_receive)(
                    conversation_id=session.conversation_id, text=text, client_id=client_id, shed=shed
                )
                break
            except services.ConversationClosed:
                await layer.group_discard(group, channel)
                if attempt:
                    raise
        conversation_id = session.conversation_id
        agents = await db_call(selectors.agent_messages_before)(conversation_id=conversation_id, seq=message.seq)
        answer, receiving = await _answer_wait(layer, channel, receiving, message=message, timeout=timeout)
        if answer is None:
            raise ReplyTimeout(conversation_id=session.conversation_id, seq=message.seq, timeout=timeout)
        return RestTurn(conversation_id=session.conversation_id, seq=message.seq, messages=agents + answer)
    finally:
        if group is not None:
            await layer.group_discard(group, channel)
        receiving.cancel()  # the layer unsubscribes a channel whose receive is cancelled


async def _answer_wait(
    layer: Any, channel: str, receiving: asyncio.Future, *, message: Message, timeout: float
) -> tuple[list[dict[str, Any]] | None, asyncio.Future]:
    """([the answer], or [] when the bot stays silent, or None on timeout; the pending receive)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        status, reply = await db_call(selectors.message_outcome)(message_id=message.pk)
        if reply is not None:
            return [reply], receiving
        if status != Message.Status.PENDING:  # left to a person (or deleted): no answer will come
            return [], receiving
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None, receiving
        done, _ = await asyncio.wait({receiving}, timeout=min(POLL_S, remaining))
        if receiving in done:
            event = receiving.result()
            receiving = asyncio.ensure_future(layer.receive(channel))
            reply = event.get("message") or {}
            if event.get("type") == "bot.reply" and reply.get("reply_to") == message.seq:
                return [reply], receiving
