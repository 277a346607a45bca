"""Actions against the real stack: a real answer worker calls a real HTTP backend the test runs on 127.0.0.1
(the customer's backend, the one thing out of reach), and the demo booking lands in its table through daphne."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conversations.models import Conversation, Message
from conversations.services import message_receive, session_open
from intents.action_signing import action_signature_verify
from intents.demo import demo_action_secret
from intents.models import DemoBooking
from tests.action_backend import SECRET, Backend, backend, hours_action  # noqa: F401  (fixtures)
from tests.live import free_port, open_chat, stack_env, start_answer_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Stack:
    url: str  # the chat socket's
    logs: Path
    worker: subprocess.Popen  # replaced by a test that kills it


@pytest.fixture(scope="module")
def stack(web, stack_logs):
    """daphne, then an answer worker (which a test kills and replaces); the worker stops first, so daphne does
    not wait for the connections it keeps alive."""
    stack = Stack(url=web, logs=stack_logs, worker=start_answer_worker(stack_env(), stack_logs / "worker.log"))
    yield stack
    stop(stack.worker)


def say(session, text: str, client_id: str | None = None) -> Message:
    """The message, once answered (the same client_id again: the message stored before)."""
    client_id = client_id or uuid.uuid4().hex
    message, _ = message_receive(conversation_id=session.conversation_id, text=text, client_id=client_id)
    deadline = time.monotonic() + 120  # a broken worker fails the test instead of hanging it
    while (message := Message.objects.select_related("reply").get(pk=message.pk)).status == Message.Status.PENDING:
        assert time.monotonic() < deadline, "the worker did not answer in time"
        time.sleep(0.1)
    return message


def test_a_signed_call_sets_slots_the_answer_uses_and_its_text_and_buttons_are_given(hours_action, stack):
    """The worker POSTs the documented payload, signed over timestamp + body, with the message id as
    Idempotency-Key; the slot the backend sets fills the intent's response and goes with the next call, whose
    text and buttons are the bot's answer."""
    session = session_open(bot=hours_action.bot, user_id=None, token=None, language="en")
    first = say(session, "/opening_hours")
    assert first.reply.text == "Open 9 to 5. Your ref: R-42"
    second = say(session, "/opening_hours")
    assert (second.reply.text, second.reply.buttons) == ("Still R-42.", [{"title": "Thanks", "payload": "/thanks"}])

    call = Backend.calls[0]
    headers = call["headers"]
    timestamp = headers["X-Charla-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + call["body"], hashlib.sha256).hexdigest()
    assert headers["X-Charla-Signature"] == f"sha256={expected}"
    action_signature_verify(secret=SECRET, signature=headers["X-Charla-Signature"], timestamp=timestamp,
                            body=call["body"])  # fmt: skip
    assert call["path"] == "/actions/hours/ok" and headers["Idempotency-Key"] == str(first.pk)
    assert json.loads(call["body"]) == {
        "intent": "opening_hours", "slots": {}, "language": "en", "conversation_id": str(session.conversation_id),
        "message_id": first.pk, "bot": "demo", "text": "/opening_hours",
    }  # fmt: skip
    assert json.loads(Backend.calls[1]["body"])["slots"] == {"ref": "R-42"}
    assert len(Backend.calls) == 2
    assert Conversation.objects.get(pk=session.conversation_id).state["slots"] == {"ref": "R-42"}


def test_a_failing_backend_gets_the_failure_response_logged_and_the_turn_answered_once(hours_action, backend, stack):
    """Down (nothing listens), slower than the bot's timeout, HTTP 500, not JSON, or JSON of the wrong shape:
    the visitor gets the bot's failure response, once, the backend was called at most once, no slot changed,
    and the worker logged why."""
    bot = hours_action.bot
    bot.action_failure_responses = {"en": ["We could not check that now."]}
    reasons = {"down": "unreachable", "slow": "no answer within 0.5 s", "error": "HTTP 500", "garbage": "not JSON",
               "shape": "text must be"}  # fmt: skip
    for fault, reason in reasons.items():
        Backend.calls.clear()
        bot.action_url = f"http://127.0.0.1:{free_port()}/" if fault == "down" else backend
        bot.save()
        hours_action.action = f"hours/{fault}"
        hours_action.save()
        session = session_open(bot=bot, user_id=None, token=None, language="en")
        message = say(session, "/opening_hours")
        assert (message.status, message.reply.text) == (Message.Status.ANSWERED, "We could not check that now."), fault
        assert Message.objects.filter(conversation_id=session.conversation_id, role=Message.Role.BOT).count() == 1
        assert len(Backend.calls) == (0 if fault == "down" else 1), fault
        assert "ref" not in Conversation.objects.get(pk=session.conversation_id).state["slots"]
        log = (stack.logs / "worker.log").read_text(errors="replace")
        assert f"for message {message.pk} failed" in log and reason in log, fault


def test_a_worker_killed_during_the_call_calls_again_with_the_same_key_and_answers_once(hours_action, stack):
    """At least once: the answer worker is SIGKILLed while the backend holds its call; the worker that claims its
    stream entry calls the backend again with the same Idempotency-Key, and the turn is answered once, with the
    second answer."""
    hours_action.action = "hours/hold"
    hours_action.save()
    hours_action.bot.action_timeout = 30
    hours_action.bot.save()
    session = session_open(bot=hours_action.bot, user_id=None, token=None, language="en")
    message, _ = message_receive(conversation_id=session.conversation_id, text="/opening_hours", client_id="h1")
    assert Backend.held.wait(120), "the worker did not call the backend"
    os.kill(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait()
    Backend.release.set()
    stack.worker = start_answer_worker(stack_env(), stack.logs / "worker.log", "--claim-idle", "1")
    message = say(session, "/opening_hours", client_id="h1")  # the same client_id: the stored message, not a new one
    assert message.reply.text == "Done once."
    assert [call["headers"]["Idempotency-Key"] for call in Backend.calls] == [str(message.pk)] * 2
    assert Message.objects.filter(conversation_id=session.conversation_id, role=Message.Role.BOT).count() == 1


async def test_the_demo_booking_lands_in_its_table_through_the_full_chat_path(trained_demo_bot, stack):
    """A visitor books over the socket; the completed form's action reaches the demo endpoint on daphne, which
    verifies the signature and stores one booking, and the visitor reads its reference."""
    from asgiref.sync import sync_to_async

    port = stack.url.split(":")[2].split("/")[0]

    @sync_to_async
    def point_at_demo_endpoint() -> None:
        trained_demo_bot.action_url = f"http://127.0.0.1:{port}/demo/actions/"
        trained_demo_bot.action_secret = demo_action_secret()
        trained_demo_bot.save()

    await point_at_demo_endpoint()
    client, _ = await open_chat(stack.url)
    assert (await client.say("I want to book a table"))["text"] == "For how many people?"
    assert (await client.say("4"))["text"] == "What day and time?"
    await client.say("tomorrow at 8pm")
    assert await DemoBooking.objects.acount() == 0  # prompts call nothing
    done = await client.say("bob@example.com")
    booking = await DemoBooking.objects.aget()
    assert (booking.people, booking.email, booking.language) == (4, "bob@example.com", "en")
    assert f"reference **{booking.reference}**" in done["text"] and done["text"].startswith("Booked! A table for 4")
    await client.socket.close()


def test_the_step_asks_for_the_action_once_the_form_completes_and_uses_only_its_own_outcome(demo_bot):
    """Filling the last slot returns the action request and leaves the state as it was; an outcome for another
    request (the state moved meanwhile) is not used; the matching one finishes the turn: the backend's text and
    the output context on success, the bot's failure response and no context on failure."""
    from conversations.dialogue import ActionOutcome, ActionRequest, ActionResult, dialogue_step
    from intents.classifier import Prediction

    demo_bot.action_url = "http://127.0.0.1:9/actions/"
    demo_bot.action_failure_responses = {"en": ["Booking failed."]}
    state = {"slots": {"people": 4, "when": "2026-12-03T20:00"}, "form": {"intent": "book_table", "requested": "email"}}
    guess = Prediction(intent="greet", confidence=0.3, language="en", ranking=[("greet", 0.3)], out_of_scope=False)

    def step(outcome=None):
        return dialogue_step(bot=demo_bot, state=state, language="en", prediction=guess, text="bob@example.com",
                             action=outcome)  # fmt: skip

    pending = step()
    slots = {"people": 4, "when": "2026-12-03T20:00", "email": "bob@example.com"}
    assert pending.action == ActionRequest(action="book_table", intent="book_table", slots=slots, language="en",
                                           text="bob@example.com")  # fmt: skip
    assert pending.state is state
    stale = ActionRequest(action="book_table", intent="book_table", slots={**slots, "people": 2}, language="en",
                          text="bob@example.com")  # fmt: skip
    assert step(ActionOutcome(stale, ActionResult(ok=True, text="Booked for 2."))).action == pending.action
    done = step(ActionOutcome(pending.action, ActionResult(ok=True, text="Booked: CH-1.", slots={"ref": "CH-1"})))
    assert (done.action, done.text, done.state["form"]) == (None, "Booked: CH-1.", None)
    assert done.state["slots"]["ref"] == "CH-1" and "booked" in done.state["contexts"]
    failed = step(ActionOutcome(pending.action, ActionResult(ok=False, error="HTTP 500")))
    assert (failed.text, failed.state["contexts"], failed.state["form"]) == ("Booking failed.", {}, None)
