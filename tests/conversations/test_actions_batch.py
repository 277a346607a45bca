"""Actions called from this process, no worker: a batch with a turn that reaches an action (the answer_worker's
path, replies_store) stores its other turns before the call and holds no row lock during it; a stateless turn."""

import json

import pytest
from django.db import connection, transaction

from conversations.models import Conversation, Message
from conversations.services import Classified, dialogue_step_acting, message_receive, replies_store, session_open
from intents.classifier import Prediction
from intents.models import ModelVersion
from tests.action_backend import Backend, backend, hours_action  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_stores_its_other_turns_first_and_calls_the_backend_with_no_lock_held(hours_action):
    """While the backend handles the call, the batch's other conversation is answered already and the calling
    turn's conversation row can be locked at once (NOWAIT) by anyone else; then the turn is answered, once."""
    bot = hours_action.bot
    hours_action.action = "hours/probe"
    hours_action.save()
    version = ModelVersion.objects.get(bot=bot)
    calling, other = (session_open(bot=bot, user_id=None, token=None, language="en") for _ in range(2))
    asked, _ = message_receive(conversation_id=calling.conversation_id, text="/opening_hours", client_id="a")
    greeted, _ = message_receive(conversation_id=other.conversation_id, text="/greet", client_id="b")

    def probe(payload: dict) -> dict:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update(nowait=True).get(pk=payload["conversation_id"])
            seen = Message.objects.get(pk=greeted.pk).status
        finally:
            connection.close()  # this server thread's own connection
        return {"text": f"other turn {seen}; row lock free"}

    Backend.probe = staticmethod(probe)
    guess = Prediction(intent="greet", confidence=0.9, language="en", ranking=[("greet", 0.9)], out_of_scope=False)
    answered, waiting = replies_store(classified=[
        Classified(message_id=m.pk, conversation_id=m.conversation_id, prediction=guess, version=version)
        for m in (asked, greeted)
    ])  # fmt: skip
    assert waiting == [] and all(outcome.created for outcome in answered.values())
    assert answered[asked.pk].reply.text == "other turn answered; row lock free"
    assert answered[greeted.pk].reply.intent == "greet"
    assert len(Backend.calls) == 1
    assert Message.objects.filter(role=Message.Role.BOT).count() == 2


def test_a_stateless_turn_calls_the_action_and_finishes_with_its_answer(hours_action):
    """With no conversation stored, the step's action is called with null ids and a random Idempotency-Key, and
    the turn ends with the backend's answer and the slots it set."""
    hours_action.action = "hours/ok"
    hours_action.save()
    guess = Prediction(intent="opening_hours", confidence=0.9, language="en", ranking=[("opening_hours", 0.9)],
                       out_of_scope=False)  # fmt: skip
    turn = dialogue_step_acting(
        bot=hours_action.bot, state={}, language="en", prediction=guess, text="when do you open?"
    )
    assert (turn.action, turn.text, turn.state["slots"]) == (None, "Open 9 to 5. Your ref: R-42", {"ref": "R-42"})
    [call] = Backend.calls
    payload = json.loads(call["body"])
    assert (payload["conversation_id"], payload["message_id"], payload["text"]) == (None, None, "when do you open?")
    assert len(call["headers"]["Idempotency-Key"]) == 32


def test_a_bot_loaded_without_a_secret_signs_its_calls_with_a_random_one_that_verifies(demo_definition, backend):
    """A definition with no `actions.secret` (the demo bot's file has none) gives a new bot a random secret and
    keeps it when loaded again; the call the real backend receives is signed with it, not with an empty key."""
    from intents.action_signing import action_signature, action_signature_verify
    from intents.services import bot_load_definition

    bot = bot_load_definition(definition=demo_definition)
    made = bot.action_secret
    assert len(made) >= 40
    bot = bot_load_definition(definition={**demo_definition, "actions": {"url": backend}})
    assert bot.action_secret == made
    intent = bot.intents.get(name="opening_hours")
    intent.action = "hours/ok"
    intent.save()
    Backend.calls.clear()
    guess = Prediction(intent="opening_hours", confidence=0.9, language="en", ranking=[("opening_hours", 0.9)],
                       out_of_scope=False)  # fmt: skip
    dialogue_step_acting(bot=bot, state={}, language="en", prediction=guess, text="when do you open?")
    [call] = Backend.calls
    signature, timestamp = call["headers"]["X-Charla-Signature"], call["headers"]["X-Charla-Timestamp"]
    action_signature_verify(secret=made, signature=signature, timestamp=timestamp, body=call["body"])
    assert signature != action_signature(secret="", timestamp=int(timestamp), body=call["body"])
