"""The Rasa-compatible REST channel end to end: HTTP to a live daphne, a real answer worker, PostgreSQL and the
Redis channel layer; what a Rasa client sends, byte for byte, and what it expects back."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.contrib.auth import get_user_model

from conversations.models import Conversation, Message
from conversations.services import agent_message_send, handoff_release, handoff_take
from intents.services import api_key_create
from tests.live import free_port, stack_env, start_answer_worker, start_daphne, stop

pytestmark = pytest.mark.django_db(transaction=True)

REPLY_TIMEOUT_S = 6


@pytest.fixture(scope="module")
def base(django_db_setup, stack_logs):
    port = free_port()
    env = stack_env({"CHARLA_REST_REPLY_TIMEOUT": str(REPLY_TIMEOUT_S)})
    process = start_daphne(port, env, stack_logs / "daphne.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)


class Worker:
    """The module's answer worker, started by the first test that needs it (the 504 test runs without)."""

    def __init__(self, log) -> None:
        self.log, self.process = log, None

    def start(self) -> None:
        if self.process is None:
            self.process = start_answer_worker(stack_env(), self.log)

    def ready(self, base: str, key: str) -> None:
        """Running, with this test's bot model loaded (each test creates the bot anew): a first answer can
        take longer than the short reply timeout on a busy machine, the following ones do not."""
        self.start()
        if _say(base, key, "hello", sender="warm-up").status_code == 504:
            _answers(base, key, "warm-up")


@pytest.fixture(scope="module")
def worker(django_db_setup, stack_logs):
    worker = Worker(stack_logs / "worker.log")
    yield worker
    if worker.process is not None:
        stop(worker.process)


@pytest.fixture
def key(trained_demo_bot) -> str:
    return api_key_create(bot=trained_demo_bot, name="tests")[1]


def _say(base: str, key: str, message: str, sender: str = "alice", **extra) -> requests.Response:
    body = {"sender": sender, "message": message, **extra}
    return requests.post(f"{base}/webhooks/rest/webhook", json=body, headers={"Authorization": f"Bearer {key}"},
                         timeout=60)  # fmt: skip


def _messages(base: str, key: str, sender: str, after_seq: int = 0) -> list[dict]:
    response = requests.get(f"{base}/api/bots/demo/messages", params={"sender": sender, "after_seq": after_seq,
                            "token": key}, timeout=30)  # fmt: skip
    assert response.status_code == 200
    return response.json()["messages"]


def _answers(base: str, key: str, sender: str) -> list[dict]:
    """The sender's bot messages, once there is one (two minutes at most)."""
    deadline = time.monotonic() + 120
    while not (answers := [m for m in _messages(base, key, sender) if m["role"] == "bot"]):
        assert time.monotonic() < deadline, "the stored message was never answered"
        time.sleep(0.5)
    return answers


def test_without_a_worker_the_call_gets_504_and_the_message_is_answered_later(base, worker, key):
    """No worker: 504 `reply_timeout` with the stored seq after CHARLA_REST_REPLY_TIMEOUT. Once a worker runs,
    the same message is answered, once, and the sender's messages show the answer."""
    late = _say(base, key, "what time do you open?", sender="late")
    assert late.status_code == 504
    assert (late.json()["code"], late.json()["seq"]) == ("reply_timeout", 1) and "stored" in late.json()["message"]
    worker.start()
    answers = _answers(base, key, "late")
    assert [(m["reply_to"], m["intent"]) for m in answers] == [(1, "opening_hours")]
    assert [m["seq"] for m in _messages(base, key, "late", after_seq=1)] == [2]


def test_a_rasa_client_works_unchanged(base, worker, key):
    """Rasa's exact bodies: the webhook answers a list of {recipient_id, text, buttons?}; a button's payload is
    the next message; /model/parse (?token=) answers Rasa's parse shape."""
    worker.ready(base, key)
    hello = _say(base, key, "Hi there!", sender="rasa-user-1")
    assert hello.status_code == 200 and hello.headers["Content-Type"] == "application/json"
    assert [set(reply) for reply in hello.json()] == [{"recipient_id", "text"}]
    assert hello.json()[0]["recipient_id"] == "rasa-user-1" and hello.json()[0]["text"]
    menu = _say(base, key, "what can you do?", sender="rasa-user-1").json()
    assert [set(reply) for reply in menu] == [{"recipient_id", "text", "buttons"}]
    assert [set(button) for button in menu[0]["buttons"]] == [{"title", "payload"}] * 3
    booking = menu[0]["buttons"][1]
    assert booking == {"title": "Book a table", "payload": "/book_table"}
    prompt = _say(base, key, booking["payload"], sender="rasa-user-1").json()
    assert prompt == [{"recipient_id": "rasa-user-1", "text": "For how many people?"}]
    parse = requests.post(f"{base}/model/parse?token={key}", json={"text": "hello"}, timeout=60)
    assert parse.status_code == 200
    assert set(parse.json()) == {"text", "intent", "intent_ranking", "entities"}
    assert parse.json()["text"] == "hello" and parse.json()["intent"]["name"] == "greet"
    assert isinstance(parse.json()["intent"]["confidence"], float) and parse.json()["entities"] == []


def test_a_retried_post_is_answered_once_and_concurrent_posts_in_seq_order(base, worker, key):
    """The same message_id twice: one stored message, one answer, the same reply both times. Posts of one sender
    sent together each get the answer to their own message, and the answers follow the messages' order."""
    worker.ready(base, key)
    first = _say(base, key, "thank you so much", sender="bob", message_id="m-1").json()
    assert _say(base, key, "thank you so much", sender="bob", message_id="m-1").json() == first
    assert Message.objects.filter(conversation__visitor__sender="bob").count() == 2
    texts = ["where is my order?", "what time do you open?", "bye!"]
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda text: _say(base, key, text, sender="bob").json(), texts))
    expected = ["order_status", "opening_hours", "goodbye"]
    rows = Message.objects.filter(conversation__visitor__sender="bob").select_related("reply_to").order_by("seq")
    replies = {row.reply_to.text: row for row in rows if row.role == "bot"}
    assert [replies[text].intent for text in texts] == expected
    assert [answer[0]["text"] for answer in answers] == [replies[text].text for text in texts]
    answered = [row.reply_to.seq for row in rows if row.role == "bot"]
    assert answered == sorted(answered) and len(answered) == 4


def test_while_a_person_has_the_conversation_the_bot_is_silent(base, worker, key):
    """After a handoff the webhook answers [] at once, and a later post brings what the person wrote; released,
    the bot answers again."""
    worker.ready(base, key)
    asked = _say(base, key, "I want to talk to a human", sender="carla").json()
    assert len(asked) == 1
    conversation = Conversation.objects.get(visitor__sender="carla")
    agent = get_user_model().objects.create_user("ana", password="x", is_staff=True)
    handoff_take(conversation_id=conversation.pk, agent_id=agent.pk)
    assert _say(base, key, "hello? anyone?", sender="carla").json() == []
    agent_message_send(conversation_id=conversation.pk, agent_id=agent.pk, text="Hi, I'm Ana.", client_id="a1")
    assert _say(base, key, "yes, about my order", sender="carla").json() == [
        {"recipient_id": "carla", "text": "Hi, I'm Ana."}
    ]
    handoff_release(conversation_id=conversation.pk, agent_id=agent.pk)
    back = _say(base, key, "thank you so much", sender="carla").json()
    assert len(back) == 1 and back[0]["text"] != "Hi, I'm Ana."
    statuses = list(Message.objects.filter(conversation=conversation, role="user").values_list("status", flat=True))
    assert statuses == ["answered", "handed_off", "handed_off", "answered"]
