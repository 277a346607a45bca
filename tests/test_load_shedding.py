"""Load shedding on the real stack: a live daphne queueing on the Redis answer stream, no worker running, then one.

Past CHARLA_BUSY_QUEUE_AGE_MS of queue, a chat message gets a `busy` frame and a REST post a 503, neither stored
(unless a person has the conversation: the bot owes no answer then); every message acknowledged before is still
answered once, in order, when a worker comes. Each refusal is counted in /metrics.
"""

import asyncio
import re
import time
import urllib.request

import pytest
import requests
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from conversations import inference, services
from conversations.models import Conversation, Message, Visitor
from intents.services import api_key_create
from tests.live import free_port, open_chat, stack_env, start_answer_worker, start_daphne, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
SHEDDING = {"CHARLA_BUSY_QUEUE_AGE_MS": "400"}


@pytest.fixture(scope="module")
def shedding_web(django_db_setup, stack_logs):
    port = free_port()
    env = stack_env({**SHEDDING, "CHARLA_ALLOWED_ORIGINS": "http://127.0.0.1:8000"})
    process = start_daphne(port, env, stack_logs / "daphne.log")
    yield port
    stop(process)


@pytest.fixture
def empty_stream():
    inference.stream_client().delete(inference.STREAM)
    yield
    inference.stream_client().delete(inference.STREAM)


@sync_to_async
def stored_users() -> list[tuple[str, int, bool]]:
    """(client_id, seq, answered once) of every user message; the ORM thread's connection closed after."""
    try:
        return [(m.client_id, m.seq, Message.objects.filter(reply_to=m).count() == 1)
                for m in Message.objects.filter(role=Message.Role.USER).order_by("seq")]  # fmt: skip
    finally:
        connection.close()


async def send_until_busy(client) -> tuple[list[int], dict]:
    """Send a message every 150 ms until one is refused; the seqs acknowledged before it, and the busy frame."""
    acked: list[int] = []
    for n in range(60):
        await client.send({"type": "message", "client_id": f"m{n}", "text": "where is my order?"})
        while True:
            frame = await client.frame()
            if frame["type"] == "busy":
                return acked, frame
            if frame["type"] == "ack":
                assert frame["client_id"] == f"m{n}"
                acked.append(frame["seq"])
                break
        await asyncio.sleep(0.15)
    raise AssertionError("60 messages over 9 s with no worker and never busy")


def post_rest(port: int, key: str, message_id: str, sender: str = "rest-sender") -> requests.Response:
    body = {"sender": sender, "message": "hello", "message_id": message_id}
    return requests.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=60)  # fmt: skip


async def test_a_queue_past_capacity_refuses_new_messages_and_answers_every_accepted_one(
    trained_demo_bot, shedding_web, empty_stream, stack_logs
):
    """No worker: messages are acknowledged until the queue is 400 ms old, then refused with `busy` (not stored);
    the REST webhook answers 503 with Retry-After. A worker then answers every acknowledged message once, in
    order, and the refused message sent again with its client_id is stored and answered after them."""
    key = (await sync_to_async(api_key_create)(bot=trained_demo_bot, name="shedding"))[1]
    client, _ = await open_chat(f"ws://127.0.0.1:{shedding_web}/ws/chat/demo/")
    acked, busy = await send_until_busy(client)
    assert len(acked) >= 2 and acked == sorted(acked)
    refused_id = f"m{len(acked)}"
    assert busy["client_id"] == refused_id and isinstance(busy["retry_after"], int) and busy["retry_after"] >= 1
    assert "busy" in busy["message"]
    assert [client_id for client_id, *_ in await stored_users()] == [f"m{n}" for n in range(len(acked))]

    rest = await asyncio.to_thread(post_rest, shedding_web, key, "rest-1")
    assert rest.status_code == 503 and int(rest.headers["Retry-After"]) >= 1
    assert rest.json()["code"] == "busy" and rest.json()["retry_after"] >= 1 and rest.json()["message"]
    assert len(await stored_users()) == len(acked)  # the REST post stored nothing either

    # Off the event loop: the socket must answer its pings while the worker loads its models (a minute when busy).
    worker = await asyncio.to_thread(start_answer_worker, stack_env(SHEDDING), stack_logs / "answer-worker.log")
    try:
        answers = []
        while len(answers) < len(acked):
            if (frame := await client.frame(timeout=120))["type"] == "message":
                answers.append(frame["reply_to"])
        assert answers == acked
        deadline = time.monotonic() + 30
        while (frame := await resend(client, refused_id))["type"] == "busy":  # the 100 ms reading may be stale
            assert time.monotonic() < deadline, "still busy with the queue drained"
            await asyncio.sleep(frame["retry_after"])
        resent_seq = acked[-1] + len(acked) + 1  # after the messages and their answers
        assert frame == {"type": "ack", "client_id": refused_id, "seq": resent_seq}
        while (frame := await client.frame(timeout=60))["type"] != "message":
            pass
        assert frame["reply_to"] == resent_seq
    finally:
        stop(worker)
        await client.socket.close()
    users = await stored_users()
    assert [client_id for client_id, *_ in users] == [f"m{n}" for n in range(len(acked) + 1)]
    assert all(answered_once for *_, answered_once in users)


async def resend(client, client_id: str) -> dict:
    await client.send({"type": "message", "client_id": client_id, "text": "where is my order?"})
    while (frame := await client.frame())["type"] not in ("ack", "busy"):
        pass
    return frame


SHED_SAMPLE = re.compile(r'^charla_messages_shed_total\{channel="(?P<channel>\w+)"\} (?P<value>\S+)$', re.M)


def shed_counts(port: int) -> dict[str, float]:
    """charla_messages_shed_total by channel, scraped from the live daphne's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    return {match["channel"]: float(match["value"]) for match in SHED_SAMPLE.finditer(text)}


def queue_aged(seconds: float) -> None:
    """A stream entry queued `seconds` ago by Redis's clock (its id), for a message that does not exist: with no
    worker running, the queue stays that old. (A worker would drop it: no such message row.)"""
    client = inference.stream_client()
    now_s, now_us = client.time()
    turn = inference.Turn(message_id=0, conversation_id="00000000-0000-0000-0000-000000000000", bot_id=0, text="x")
    added_ms = int(now_s * 1000 + now_us / 1000 - seconds * 1000)
    client.xadd(inference.STREAM, inference._fields(turn, {}), id=f"{added_ms}-0")


@sync_to_async
def in_db(function, *args, **kwargs):
    """`function` on the ORM's thread, its connection closed after (the live daphne and this test share the db)."""
    try:
        return function(*args, **kwargs)
    finally:
        connection.close()


def staff_create() -> int:
    return get_user_model().objects.create_user("ana", password="x", is_staff=True).pk


def handoff_request(conversation_id: str) -> None:
    with transaction.atomic():
        services.handoff_request(conversation=Conversation.objects.select_for_update().get(pk=conversation_id))


def message_statuses(conversation_id: str) -> dict[str, str]:
    return dict(Message.objects.filter(conversation_id=conversation_id).values_list("client_id", "status"))


async def frame_of(client, kind: str) -> dict:
    while (frame := await client.frame())["type"] != kind:
        pass
    return frame


async def test_a_conversation_a_person_has_taken_over_is_not_shed(
    trained_demo_bot, shedding_web, empty_stream
):
    """Past capacity the bot's turns are refused, but a message to a conversation a person has taken over needs no
    worker: it is stored for that person, whether the socket saw the takeover or reconnected after it (its
    session says so); while a person is only asked for, or after they gave it back, the bot answers, so it is
    refused again. Likewise over REST. /metrics counts each refusal by channel."""
    before = await asyncio.to_thread(shed_counts, shedding_web)
    queue_aged(5.0)
    url = f"ws://127.0.0.1:{shedding_web}/ws/chat/demo/"
    client, session = await open_chat(url)
    conversation = session["conversation"]
    assert (await resend(client, "h0"))["type"] == "busy"
    await in_db(handoff_request, conversation)
    assert (await frame_of(client, "handoff"))["state"] == "requested"
    assert (await resend(client, "h0"))["type"] == "busy"  # the bot still answers: refused under the row lock
    agent = await in_db(staff_create)
    await in_db(services.handoff_take, conversation_id=conversation, agent_id=agent)
    assert (await frame_of(client, "handoff"))["state"] == "active"
    assert await resend(client, "h0") == {"type": "ack", "client_id": "h0", "seq": 1}

    again, resumed = await open_chat(f"{url}?token={session['token']}")  # a new socket: no handoff event seen
    assert resumed["conversation"] == conversation
    assert await resend(again, "h1") == {"type": "ack", "client_id": "h1", "seq": 2}
    assert await in_db(message_statuses, conversation) == {"h0": "handed_off", "h1": "handed_off"}
    await in_db(services.handoff_release, conversation_id=conversation, agent_id=agent)
    assert (await frame_of(again, "handoff"))["state"] == "none"
    assert (await resend(again, "h2"))["type"] == "busy"
    assert await in_db(message_statuses, conversation) == {"h0": "handed_off", "h1": "handed_off"}
    await client.socket.close()
    await again.socket.close()

    key = (await sync_to_async(api_key_create)(bot=trained_demo_bot, name="shedding-handoff"))[1]
    rest_session = await in_db(services.session_open, bot=trained_demo_bot, user_id=None, token=None, language=None,
                               sender="with-a-person")  # fmt: skip
    await in_db(services.handoff_take, conversation_id=rest_session.conversation_id, agent_id=agent)
    taken = await asyncio.to_thread(post_rest, shedding_web, key, "r1", sender="with-a-person")
    assert (taken.status_code, taken.json()) == (200, [])
    assert await in_db(message_statuses, str(rest_session.conversation_id)) == {"r1": "handed_off"}
    refused = await asyncio.to_thread(post_rest, shedding_web, key, "r2", sender="somebody-new")
    assert refused.status_code == 503 and refused.json()["code"] == "busy"
    assert not await in_db(lambda: Visitor.objects.filter(sender="somebody-new").exists())  # nothing created

    deadline = time.monotonic() + 30  # each daphne process writes its tally of refusals a moment later
    while (after := await asyncio.to_thread(shed_counts, shedding_web)) != {
        "socket": before.get("socket", 0) + 3, "rest": before.get("rest", 0) + 1
    }:
        assert time.monotonic() < deadline, f"shed counts {before} then {after}: not 3 socket, 1 rest more"
        await asyncio.sleep(0.1)


async def test_a_batch_in_a_workers_hands_counts_toward_the_wait(
    trained_demo_bot, shedding_web, empty_stream, stack_logs
):
    """XREADGROUP hands a worker everything queued at once, so under load the stream's unread part is empty
    while the work sits in a batch: such a batch counts. A real worker (its inference held up by the fault
    setting) holds the first message; the next one, sent once that has waited past the threshold, is refused
    before the first is answered, though no entry is unread; then both are answered once, in order."""
    slow = stack_env({**SHEDDING, "CHARLA_FAULT_INFERENCE_DELAY_MS": "4000,4000"})
    worker = await asyncio.to_thread(start_answer_worker, slow, stack_logs / "answer-worker-held.log")
    client, _ = await open_chat(f"ws://127.0.0.1:{shedding_web}/ws/chat/demo/")
    try:
        assert await resend(client, "p0") == {"type": "ack", "client_id": "p0", "seq": 1}
        stream = inference.stream_client()
        deadline = time.monotonic() + 60
        while not (held := stream.xpending_range(inference.STREAM, inference.GROUP, "-", "+", 1)):
            assert time.monotonic() < deadline, "the worker never read the message"
            await asyncio.sleep(0.05)
        while True:  # until the batch has waited past the threshold (400 ms) and a reading (100 ms) more
            now_s, now_us = stream.time()
            if now_s * 1000 + now_us / 1000 - inference._id_ms(held[0]["message_id"]) > 700:
                break
            await asyncio.sleep(0.05)
        assert stream.xinfo_groups(inference.STREAM)[0]["lag"] == 0  # nothing unread: all of it is in the batch
        refused = await resend(client, "p1")
        assert refused["type"] == "busy" and refused["client_id"] == "p1"
        answer = await frame_of(client, "message")
        assert answer["reply_to"] == 1  # p0's answer came after p1 was refused
        deadline = time.monotonic() + 60
        while (frame := await resend(client, "p1"))["type"] == "busy":
            assert time.monotonic() < deadline, "still busy with the queue drained"
            await asyncio.sleep(frame["retry_after"])
        assert frame == {"type": "ack", "client_id": "p1", "seq": 3}
        assert (await frame_of(client, "message"))["reply_to"] == 3
    finally:
        stop(worker)
        await client.socket.close()
    users = await stored_users()
    assert [(client_id, seq) for client_id, seq, _ in users] == [("p0", 1), ("p1", 3)]
    assert all(answered_once for *_, answered_once in users)
