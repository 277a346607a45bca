"""NLU parse, Rasa's /model/parse, stateless turns and the API's JSON errors, in-process against PostgreSQL."""

import time

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from conversations.models import Conversation, Message, Visitor
from intents.models import Bot

pytestmark = pytest.mark.django_db(transaction=True)  # async views run their queries on threads of their own


@pytest.fixture
def api(db) -> APIClient:
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("ops", password="x", is_staff=True))
    return client


def _turns(api: APIClient, texts: list[str], state: str | None = None) -> tuple[list[dict], str]:
    replies = []
    for text in texts:
        response = api.post("/api/bots/demo/turn", {"text": text, "state": state}, format="json")
        assert response.status_code == 200, response.json()
        replies += response.json()["replies"]
        state = response.json()["state"]
    return replies, state


def test_parse_reports_intent_ranking_entities_language_and_model_version(trained_demo_bot, api):
    """A booking request parses as book_table with a ranking of at most 10, its party size as sys.number at the
    right span, the detected language and the production version's number."""
    text = "can I book a table for 4 people?"
    body = api.post("/api/bots/demo/parse", {"text": text}, format="json").json()
    assert set(body) == {"text", "language", "intent", "intent_ranking", "entities", "model_version"}
    assert (body["text"], body["language"], body["model_version"]) == (text, "en", 1)
    assert body["intent"]["name"] == "book_table" and 0 < body["intent"]["confidence"] <= 1
    ranking = body["intent_ranking"]
    assert 1 < len(ranking) <= 10 and ranking[0] == body["intent"]
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
    number = next(e for e in body["entities"] if e["entity"] == "sys.number")
    assert (number["value"], text[number["start"] : number["end"]]) == (4, "4")
    assert number["extractor"] == "CharlaBuiltinExtractor"
    spanish = api.post("/api/bots/demo/parse", {"text": "quiero reservar una mesa", "lang": "es"}, format="json")
    assert (spanish.json()["language"], spanish.json()["intent"]["name"]) == ("es", "book_table")


def test_out_of_scope_is_reported_as_its_own_intent(trained_demo_bot, api):
    """A text the bot cannot place is `out_of_scope`, first in the ranking, at the bot's threshold."""
    body = api.post("/api/bots/demo/parse", {"text": "xq zzv plork wubba"}, format="json").json()
    assert body["intent"] == {"name": "out_of_scope", "confidence": trained_demo_bot.confidence_threshold}
    assert body["intent_ranking"][0] == body["intent"]


def test_rasa_model_parse_answers_rasas_shape(trained_demo_bot, api):
    """POST /model/parse with Rasa's body returns Rasa's keys only (message_id echoed), the bot from ?bot=."""
    body = api.post("/model/parse?bot=demo", {"text": "hello there", "message_id": "m-1"}, format="json").json()
    assert set(body) == {"text", "intent", "intent_ranking", "entities", "message_id"}
    assert body["intent"]["name"] == "greet" and body["message_id"] == "m-1"
    assert set(body["intent"]) == {"name", "confidence"}
    assert all(set(item) == {"name", "confidence"} for item in body["intent_ranking"])


def test_a_bot_without_a_production_model_gets_503(demo_bot, api):
    """Parse and turn on a bot with no production model: 503 `no_model`, saying what to do."""
    for url, body in (("/api/bots/demo/parse", {"text": "hi"}), ("/api/bots/demo/turn", {"text": "hi"})):
        response = api.post(url, body, format="json")
        assert response.status_code == 503 and response.json()["code"] == "no_model"
        assert "train" in response.json()["message"]


@pytest.mark.parametrize(
    ("texts", "language", "done"),
    [
        (["I want to book a table", "4", "tomorrow at 8pm", "ana@example.com"], "en", "ana@example.com"),
        (["quiero reservar una mesa", "cuatro", "mañana a las 9", "ana@example.com"], "es", "ana@example.com"),
    ],
)
def test_a_table_is_booked_across_four_stateless_turns(trained_demo_bot, api, texts, language, done):
    """The booking form asks for people, time and e-mail, then confirms with the slots filled, in the visitor's
    language; the state carries it all and nothing is stored on the server."""
    replies, _ = _turns(api, texts)
    assert [r["intent"] for r in replies] == ["book_table"] * 4
    assert {r["language"] for r in replies} == {language}
    assert all("{" not in r["text"] for r in replies)
    confirmation = replies[-1]["text"]
    assert "4" in confirmation and done in confirmation.replace("\\", "")
    assert (Conversation.objects.count(), Message.objects.count(), Visitor.objects.count()) == (0, 0, 0)


def test_a_tampered_an_expired_or_another_bots_state_gets_400(trained_demo_bot, api, settings):
    """Each bad state is refused with its own code and a message saying to start again with null."""
    _, state = _turns(api, ["I want to book a table"])
    for bad, code in ((state[:-3] + "AAA", "state_invalid"), ("garbage", "state_invalid")):
        response = api.post("/api/bots/demo/turn", {"text": "4", "state": bad}, format="json")
        assert (response.status_code, response.json()["code"]) == (400, code)
        assert "null" in response.json()["message"]
    Bot.objects.create(slug="shop", name="Shop", languages=["en"])
    other = api.post("/api/bots/shop/turn", {"text": "4", "state": state}, format="json")
    assert (other.status_code, other.json()["code"]) == (400, "state_other_bot")
    settings.CHARLA_TURN_STATE_MAX_AGE = 1
    time.sleep(2.1)
    expired = api.post("/api/bots/demo/turn", {"text": "4", "state": state}, format="json")
    assert (expired.status_code, expired.json()["code"]) == (400, "state_expired")


def test_a_stateless_turn_says_no_person_can_join(trained_demo_bot, api):
    """Asking for a person in stateless mode is answered that nobody can join, with no handoff button."""
    replies, _ = _turns(api, ["/human_handoff"])
    assert "can't join" in replies[0]["text"] and replies[0]["buttons"] == []


ERRORS = [
    ("post", "/api/bots/demo/parse", "{not json", "application/json", 400, "parse_error"),
    ("post", "/api/bots/demo/parse", "text=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("post", "/api/bots/demo/parse", "{}", "application/json", 400, "invalid"),
    ("post", "/api/bots/demo/parse", '{"text": "   "}', "application/json", 400, "empty_text"),
    ("post", "/api/bots/demo/parse", '{"text": "%s"}' % ("a" * 2001), "application/json", 400, "text_too_long"),
    ("post", "/api/bots/demo/parse", '{"text": "hi", "lang": "fr"}', "application/json", 400, "unsupported_language"),
    ("post", "/api/bots/nope/parse", '{"text": "hi"}', "application/json", 404, "unknown_bot"),
    ("get", "/api/bots/demo/turn", None, None, 405, "method_not_allowed"),
    ("post", "/webhooks/rest/webhook", '{"sender": "a"}', "application/json", 400, "invalid"),
    ("post", "/webhooks/rest/webhook", '{"sender": "a", "message": ""}', "application/json", 400, "empty_text"),
    (
        "post",
        "/webhooks/rest/webhook",
        '{"sender": "a", "message": "%s"}' % ("a" * 2001),
        "application/json",
        400,
        "text_too_long",
    ),
    ("post", "/api/bots/demo/turn", '{"text": "hi", "lang": "fr"}', "application/json", 400, "unsupported_language"),
    ("get", "/api/nothing-here/", None, None, 404, "not_found"),
]  # (method, url, body, content type, status, code)


def test_every_api_error_is_a_json_body_with_a_code_and_a_message(demo_bot, api):
    """Bad JSON, a wrong content type, missing fields, empty/oversize text, an unknown language or bot, a wrong
    method and an unknown path: the status, a JSON body with `code` and `message`, and nothing stored.
    (One test for all: each case costs a database flush otherwise.)"""
    for method, url, body, content_type, status, code in ERRORS:
        kwargs = {"data": body, "content_type": content_type} if body is not None else {}
        response = getattr(api, method)(url, **kwargs)
        case = f"{method} {url} {body!r:.40}"
        assert (response.status_code, response["Content-Type"]) == (status, "application/json"), case
        assert response.json()["code"] == code and response.json()["message"], case
        assert bool(response.json().get("fields")) == (code == "invalid"), case
    assert (Visitor.objects.count(), Message.objects.count()) == (0, 0)


def test_the_schema_documents_every_endpoint(db, api):
    """/api/schema/ lists the REST channel, both parses, turns and sender messages, with the API-key scheme."""
    schema = api.get("/api/schema/?format=json").json()
    for path in ("/webhooks/rest/webhook", "/model/parse", "/api/bots/{slug}/parse", "/api/bots/{slug}/turn",
                 "/api/bots/{slug}/messages"):  # fmt: skip
        assert path in schema["paths"]
    assert "apiKey" in schema["components"]["securitySchemes"]
    assert api.get("/api/docs/").status_code == 200
