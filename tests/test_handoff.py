"""Handoff end to end: a visitor and a staff member on two real WebSockets to a live daphne, a real worker."""

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from conversations.models import Message
from tests.live import open_chat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _staff_cookie() -> str:
    staff = get_user_model().objects.create_user("ana", password="x", is_staff=True)
    http = HttpClient()
    http.force_login(staff)
    assert b"/console/" in http.get("/admin/").content  # the console is reachable from the admin
    assert http.get("/console/").status_code == 200
    return f"sessionid={http.cookies['sessionid'].value}"


async def _console(web: str, cookie: str):
    url = web.replace("/ws/chat/demo/", "/ws/console/")
    origin = url.replace("ws://", "http://").split("/ws/")[0]
    socket = await websockets.connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=30)
    return socket


async def _until(socket, wanted, timeout=60):
    """The next frame matching `wanted`, skipping the others (queue refreshes arrive at any time)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if wanted(frame):
            return frame


async def test_staff_takes_over_writes_live_and_gives_the_conversation_back(trained_demo_bot, web, worker):
    """Visitor asks for a person → queued in the console → staff takes over → the bot is silent, the visitor sees
    the agent's message live and the staff the visitor's → release → the bot answers again."""
    visitor, session = await open_chat(web)
    asked = await visitor.say("I want to talk to a human")
    assert asked["intent"] == "human_handoff"
    assert await visitor.frame() == {"type": "handoff", "state": "requested", "agent": None}

    staff = await _console(web, await database_sync_to_async(_staff_cookie)())
    queue = await _until(staff, lambda f: f["type"] == "queue" and f["conversations"])
    assert [(c["conversation"], c["handoff"]) for c in queue["conversations"]] == [
        (session["conversation"], "requested")
    ]

    await staff.send(json.dumps({"type": "take", "conversation": session["conversation"]}))
    history = await _until(staff, lambda f: f["type"] == "history")
    assert [m["role"] for m in history["messages"]] == ["user", "bot"]
    assert await visitor.frame() == {"type": "handoff", "state": "active", "agent": "ana"}

    await visitor.send({"type": "message", "client_id": "v1", "text": "hello? are you there?"})
    assert await visitor.frame() == {"type": "ack", "client_id": "v1", "seq": 3}
    seen = await _until(staff, lambda f: f["type"] == "message")
    assert (seen["role"], seen["text"], seen["conversation"]) == (
        "user",
        "hello? are you there?",
        session["conversation"],
    )

    await staff.send(json.dumps({"type": "message", "conversation": session["conversation"], "client_id": "s1",
                                 "text": "Hi, I'm Ana. How can I help?"}))
    agent = await visitor.frame()
    assert (agent["type"], agent["role"], agent["seq"], agent["agent_name"]) == ("message", "agent", 4, "ana")
    assert agent["text"] == "Hi, I'm Ana. How can I help?"
    assert (await _until(staff, lambda f: f["type"] == "ack"))["seq"] == 4
    with pytest.raises(asyncio.TimeoutError):
        await visitor.frame(timeout=2)  # the bot stays silent

    await staff.send(json.dumps({"type": "release", "conversation": session["conversation"]}))
    assert await visitor.frame() == {"type": "handoff", "state": "none", "agent": None}
    back = await visitor.say("thank you so much")
    assert back["intent"] == "thanks" and back["seq"] == 6
    statuses = await database_sync_to_async(
        lambda: list(Message.objects.filter(role="user").order_by("seq").values_list("status", flat=True))
    )()
    assert statuses == ["answered", "handed_off", "answered"]
    await visitor.socket.close()
    await staff.close()


async def test_the_console_refuses_anyone_but_staff(trained_demo_bot, web):
    """An anonymous socket to /ws/console/ is closed before it opens."""
    url = web.replace("/ws/chat/demo/", "/ws/console/")
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(url, origin=url.replace("ws://", "http://").split("/ws/")[0], open_timeout=30)
