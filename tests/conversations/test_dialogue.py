"""Multi-turn dialogue through the services with the real demo model: forms, corrections, contexts, buttons."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.dialogue import dialogue_step
from conversations.models import Conversation, Message
from conversations.services import message_receive, session_open
from intents.classifier import Prediction
from intents.models import Entity, EntityValue, Intent, IntentContext, Response, Slot
from tests.conversations.answering import answer

pytestmark = pytest.mark.django_db


class Chat:
    def __init__(self, bot, language):
        self.session = session_open(bot=bot, user_id=None, token=None, language=language)
        self.n = 0

    def say(self, text):
        self.n += 1
        message, _ = message_receive(conversation_id=self.session.conversation_id, text=text, client_id=str(self.n))
        reply = answer(message)
        assert reply is not None
        return reply

    @property
    def state(self):
        return Conversation.objects.get(pk=self.session.conversation_id).state


def _texts(bot, intent, language, context=""):
    return set(Response.objects.filter(intent__bot=bot, intent__name=intent, language=language, context=context)
               .values_list("text", flat=True))


def test_an_english_booking_form_is_filled_over_turns_with_a_correction(trained_demo_bot):
    """The form asks for each missing slot in turn; a value for an earlier slot corrects it; the answer fills them
    in."""
    chat = Chat(trained_demo_bot, "en")
    assert chat.say("I want to book a table").text == "For how many people?"
    assert chat.say("4").text == "What day and time?"
    assert chat.state["slots"]["people"] == 4
    corrected = chat.say("actually make it 5 people")
    assert corrected.text == "What day and time?" and chat.state["slots"]["people"] == 5
    assert chat.say("tomorrow at 8pm").text == "Which e-mail should I send the confirmation to?"
    done = chat.say("ana@example.com")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert done.intent == "book_table"
    assert done.text in {
        t.format(people=5, when=f"{tomorrow} 20:00", email="ana@example.com")
        for t in _texts(trained_demo_bot, "book_table", "en")
    }
    assert chat.state["form"] is None


def test_a_spanish_booking_takes_slots_from_the_first_message_and_words_for_numbers(trained_demo_bot):
    """"para cuatro personas" fills the party size at once; "mañana a las 9" is read as tomorrow 09:00."""
    chat = Chat(trained_demo_bot, "es")
    first = chat.say("quiero reservar una mesa para cuatro personas")
    assert (first.intent, first.text, first.language) == ("book_table", "¿Qué día y a qué hora?", "es")
    assert chat.say("mañana a las 9").text == "¿A qué correo te envío la confirmación?"
    done = chat.say("mi correo es luis@example.es")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert done.language == "es"
    assert done.text in {
        t.format(people=4, when=f"{tomorrow} 09:00", email="luis@example.es")
        for t in _texts(trained_demo_bot, "book_table", "es")
    }


def test_a_value_that_fits_no_slot_is_asked_again(trained_demo_bot):
    """Validation: an answer without the requested kind of value gets the prompt again with an apology."""
    chat = Chat(trained_demo_bot, "en")
    chat.say("book a table")
    chat.say("two")
    again = chat.say("blue")
    assert again.text.endswith("What day and time?") and again.text.startswith("Sorry")
    assert chat.state["form"] == {"intent": "book_table", "requested": "when"}


def test_a_context_conditioned_answer_until_the_context_expires_after_its_turns(trained_demo_bot):
    """After a booking, "thanks" gets the answer for context `booked`; two turns later the context is gone."""
    chat = Chat(trained_demo_bot, "en")
    for text in ("book a table for 2 tomorrow at 8pm", "bob@example.com"):
        chat.say(text)
    assert "booked" in chat.state["contexts"]
    thanked = chat.say("thank you so much")
    assert thanked.intent == "thanks" and thanked.text.startswith("You're welcome! See you on ")
    chat.say("hello")
    assert "booked" not in chat.state["contexts"]
    later = chat.say("thank you so much")
    assert later.text in _texts(trained_demo_bot, "thanks", "en")


def test_a_context_expires_after_its_minutes(trained_demo_bot):
    """A context set with a 10-minute lifespan is not active 11 minutes later, turns left or not."""
    chat = Chat(trained_demo_bot, "en")
    for text in ("book a table for 2 tomorrow at 8pm", "bob@example.com"):
        chat.say(text)
    thanks = Prediction(intent="thanks", confidence=0.99, language="en", ranking=[("thanks", 0.99)], out_of_scope=False)
    state = chat.state
    soon = dialogue_step(bot=trained_demo_bot, state=state, language="en", prediction=thanks, text="thanks",
                         now=timezone.now() + timedelta(minutes=9))
    late = dialogue_step(bot=trained_demo_bot, state=state, language="en", prediction=thanks, text="thanks",
                         now=timezone.now() + timedelta(minutes=11))
    assert soon.text.startswith("You're welcome! See you on ")
    assert late.text in _texts(trained_demo_bot, "thanks", "en")


def test_a_button_payload_is_the_next_user_turn(trained_demo_bot):
    """Help offers quick replies; sending a payload runs its intent whatever the classifier thinks of "/book_table"."""
    chat = Chat(trained_demo_bot, "es")
    menu = chat.say("¿qué puedes hacer?")
    assert menu.intent == "help" and {"title": "Reservar mesa", "payload": "/book_table"} in menu.buttons
    chosen = chat.say("/book_table")
    assert (chosen.intent, chosen.text) == ("book_table", "¿Para cuántas personas?")
    assert Message.objects.get(pk=chosen.reply_to_id).confidence == 1.0


def test_two_fallbacks_in_a_row_offer_a_person_and_the_button_requests_one(trained_demo_bot):
    """Below the threshold: rephrase; the second in a row offers a human; its payload puts the chat in the queue."""
    trained_demo_bot.confidence_threshold = 0.999
    trained_demo_bot.save()
    chat = Chat(trained_demo_bot, "en")
    first = chat.say("hmm")
    assert first.intent == "fallback" and first.text in trained_demo_bot.fallback_responses["en"] and not first.buttons
    second = chat.say("what")
    assert second.buttons == [{"title": "Talk to a person", "payload": "/human_handoff"}]
    handoff = chat.say(second.buttons[0]["payload"])
    assert handoff.intent == "human_handoff" and handoff.text in _texts(trained_demo_bot, "human_handoff", "en")
    assert Conversation.objects.get(pk=chat.session.conversation_id).handoff == "requested"


def test_an_intent_that_needs_a_context_is_skipped_without_it(demo_bot):
    """Input contexts: the top intent needs `booked`; without it the next ranked intent answers."""
    cancel = Intent.objects.create(bot=demo_bot, name="booking_cancel")
    IntentContext.objects.create(intent=cancel, name="booked", direction="needs")
    Response.objects.create(intent=cancel, language="en", text="Your booking is cancelled.")
    prediction = Prediction(intent="booking_cancel", confidence=0.9, language="en",
                            ranking=[("booking_cancel", 0.9), ("goodbye", 0.7)], out_of_scope=False)
    without = dialogue_step(bot=demo_bot, state={}, language="en", prediction=prediction, text="cancel it")
    assert without.intent == "goodbye"
    live = {"booked": {"turns": 1, "expires": (timezone.now() + timedelta(minutes=5)).timestamp()}}
    within = dialogue_step(bot=demo_bot, state={"contexts": live}, language="en", prediction=prediction, text="x")
    assert (within.intent, within.text) == ("booking_cancel", "Your booking is cancelled.")


def test_regex_and_lookup_entities_with_synonyms_fill_slots_and_values_are_escaped(demo_bot):
    """Admin-defined entities: a regex code and a lookup value found by a Spanish synonym; slot values are escaped."""
    code = Entity.objects.create(bot=demo_bot, name="code", kind="regex", pattern=r"#\S+")
    diet = Entity.objects.create(bot=demo_bot, name="diet", kind="lookup")
    EntityValue.objects.create(entity=diet, value="vegetarian", synonyms=["veggie", "vegetariano"])
    order = Intent.objects.create(bot=demo_bot, name="special_order")
    Slot.objects.create(intent=order, name="code", entity=code.name, order=0)
    Slot.objects.create(intent=order, name="diet", entity=diet.name, order=1, prompts={"es": ["¿Qué dieta?"]})
    Response.objects.create(intent=order, language="es", text="Pedido {code}: menú {diet}.")
    prediction = Prediction(intent="special_order", confidence=0.9, language="es",
                            ranking=[("special_order", 0.9)], out_of_scope=False)
    asked = dialogue_step(
        bot=demo_bot, state={}, language="es", prediction=prediction, text="pedido #<b>[x](https://e.vil)"
    )
    assert asked.text == "¿Qué dieta?"
    done = dialogue_step(bot=demo_bot, state=asked.state, language="es", prediction=prediction, text="Vegetariano")
    assert done.text == r"Pedido #<b>\[x\]\(https://e.vil\): menú vegetarian."


def test_an_edited_response_is_answered_from_the_next_turn(trained_demo_bot):
    """Workers cache a bot's dialogue settings per revision; saving a response (as the admin does) changes it."""
    chat = Chat(trained_demo_bot, "en")
    assert chat.say("hello").text in _texts(trained_demo_bot, "greet", "en")
    for response in Response.objects.filter(intent__bot=trained_demo_bot, intent__name="greet", language="en"):
        response.text = "Welcome back to the new greeting."
        response.save()
    assert chat.say("hello").text == "Welcome back to the new greeting."
    Response.objects.filter(intent__bot=trained_demo_bot, intent__name="greet", language="en").delete()
    Response.objects.create(
        intent=Intent.objects.get(bot=trained_demo_bot, name="greet"), language="en", text="Hi again."
    )
    assert chat.say("hello").text == "Hi again."
