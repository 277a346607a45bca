"""The staff console's socket (/ws/console/): the handoff queue live, take over, write, release."""

import json
import uuid
from typing import Any

from . import selectors, services
from .consumers import DbCallConsumer, db_call
from .models import Conversation
from .services.publish import CONSOLE_GROUP

NOT_STAFF = 4003


class ConsoleConsumer(DbCallConsumer):
    """Frames are documented in docs/protocol.md (Staff console)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=NOT_STAFF)
            return
        self.agent_id = user.pk
        self.watching: set[str] = set()
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        await self.accept()
        await self.console_queue({})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "watching"):
            await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)
            for conversation in self.watching:
                await self.channel_layer.group_discard(_group(conversation), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = json.loads(text_data or "")
        except json.JSONDecodeError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("conversation"), str):
            await self._send({"type": "error", "code": "invalid_frame", "message": "Expected {type, conversation}."})
            return
        handler = {"open": self._on_open, "take": self._on_take, "release": self._on_release,
                   "message": self._on_message}.get(frame.get("type"))
        if handler is None:
            await self._send(
                {"type": "error", "code": "unknown_type", "message": "Expected open, take, release or message."}
            )
            return
        try:
            await handler(frame)
        except services.MessageRejected as rejected:
            await self._send({"type": "error", "code": rejected.code, "message": rejected.message,
                              "conversation": frame["conversation"]})

    async def _on_open(self, frame: dict[str, Any]) -> None:
        """Watch a conversation: its history now, then its new messages as they are stored."""
        conversation = frame["conversation"]
        group = _group(conversation)
        await self.channel_layer.group_add(group, self.channel_name)
        self.watching.add(conversation)
        history = await db_call(selectors.messages_after)(conversation_id=conversation, after_seq=0)
        await self._send({"type": "history", "conversation": conversation, "messages": history})

    async def _on_take(self, frame: dict[str, Any]) -> None:
        await db_call(services.handoff_take)(conversation_id=frame["conversation"], agent_id=self.agent_id)
        await self._on_open(frame)

    async def _on_release(self, frame: dict[str, Any]) -> None:
        await db_call(services.handoff_release)(
            conversation_id=frame["conversation"], agent_id=self.agent_id
        )

    async def _on_message(self, frame: dict[str, Any]) -> None:
        message, _ = await db_call(services.agent_message_send)(
            conversation_id=frame["conversation"], agent_id=self.agent_id, text=frame.get("text"),
            client_id=frame.get("client_id"),
        )
        await self._send({"type": "ack", "conversation": frame["conversation"], "client_id": frame["client_id"],
                          "seq": message.seq})

    async def console_queue(self, event: dict[str, Any]) -> None:
        queue = await db_call(selectors.handoff_queue)()
        await self._send({"type": "queue", "conversations": queue})

    async def console_message(self, event: dict[str, Any]) -> None:
        await self._send({**event["message"], "conversation": event["conversation"]})

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))


def _group(conversation_id: str) -> str:
    try:
        return Conversation(id=uuid.UUID(conversation_id)).console_group_name
    except ValueError:
        raise services.MessageRejected("unknown_conversation", "No such conversation.") from None
