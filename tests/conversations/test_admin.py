"""Support staff read transcripts and edit intents in the Django admin."""

import pytest

from conversations.services import message_receive, session_open
from tests.conversations.answering import answer

pytestmark = pytest.mark.django_db


def test_a_transcript_shows_every_message_in_order_and_cannot_be_edited(trained_demo_bot, admin_client):
    """The conversation page lists the messages by seq, with intent and confidence, and offers no save."""
    session = session_open(bot=trained_demo_bot, user_id=None, token=None, language="es")
    for n, text in enumerate(["hola", "¿cuál es el horario?"]):
        message, _ = message_receive(conversation_id=session.conversation_id, text=text, client_id=str(n))
        answer(message)
    listing = admin_client.get("/admin/conversations/conversation/")
    assert listing.status_code == 200 and str(session.conversation_id) in listing.content.decode()
    page = admin_client.get(f"/admin/conversations/conversation/{session.conversation_id}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    positions = [html.index(text) for text in ("hola", "¿cuál es el horario?")]
    assert positions == sorted(positions)
    assert "greet" in html and "opening_hours" in html
    assert 'name="_save"' not in html


def test_an_intent_page_edits_examples_and_responses_inline(demo_bot, admin_client):
    """Examples and responses of an intent are edited on the intent's own page."""
    greet = demo_bot.intents.get(name="greet")
    html = admin_client.get(f"/admin/intents/intent/{greet.pk}/change/").content.decode()
    assert "examples-TOTAL_FORMS" in html and "responses-TOTAL_FORMS" in html
    assert "hola" in html
