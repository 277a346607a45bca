"""Actions' configuration from a bot definition, and the demo restaurant's action endpoint, which refuses what
is not signed by Charla and books once per key."""

import io
import json
import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from intents.action_signing import action_signature
from intents.demo import demo_action_secret
from intents.interchange import common as interchange_common
from intents.models import Bot, DemoBooking, Intent
from intents.models.bots import ACTION_NAME
from intents.services import bot_load_definition

pytestmark = pytest.mark.django_db
URL = "/demo/actions/book_table"
SLOTS = {"people": 2, "when": "2026-12-24T20:30", "email": "ana@example.com"}


def post(client, payload: dict, *, secret: str | None = None, timestamp: int | None = None, key: str = "m1"):
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = action_signature(secret=secret or demo_action_secret(), timestamp=timestamp, body=body)
    return client.post(URL, body, content_type="application/json", HTTP_X_CHARLA_SIGNATURE=signature,
                       HTTP_X_CHARLA_TIMESTAMP=str(timestamp), HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip


def test_a_signed_call_books_once_per_idempotency_key(client):
    """The same call delivered twice (at-least-once) stores one booking and answers with the same reference."""
    first = post(client, {"slots": SLOTS, "language": "es"})
    again = post(client, {"slots": SLOTS, "language": "es"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    booking = DemoBooking.objects.get()
    assert first.json()["slots"] == {"booking_ref": booking.reference}
    assert first.json()["text"].startswith("¡Reservado! Mesa para 2 el 2026-12-24 a las 20:30")


@pytest.mark.parametrize("fault", ["wrong secret", "replayed", "tampered"])
def test_an_unsigned_replayed_or_tampered_call_is_refused_and_books_nothing(client, fault):
    """401 with a JSON error for a wrong secret, a timestamp ten minutes old, or a body changed after signing."""
    if fault == "tampered":
        body = json.dumps({"slots": SLOTS}).encode()
        timestamp = int(time.time())
        signature = action_signature(secret=demo_action_secret(), timestamp=timestamp, body=body)
        response = client.post(URL, body.replace(b"2,", b"20,"), content_type="application/json",
                               HTTP_X_CHARLA_SIGNATURE=signature, HTTP_X_CHARLA_TIMESTAMP=str(timestamp),
                               HTTP_IDEMPOTENCY_KEY="m1")  # fmt: skip
    else:
        response = post(client, {"slots": SLOTS}, secret="not-the-secret" if fault == "wrong secret" else None,
                        timestamp=int(time.time()) - 600 if fault == "replayed" else None)  # fmt: skip
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    assert not DemoBooking.objects.exists()


def test_a_booking_with_invalid_slots_or_a_get_is_refused_with_a_json_error(client):
    """422 for an invalid e-mail (Charla treats it as a failed action: the visitor gets the failure response),
    405 for a GET; nothing is stored."""
    response = post(client, {"slots": {**SLOTS, "email": "not-an-address"}})
    assert response.status_code == 422 and response.json()["error"] == "invalid_booking"
    response = client.get(URL)
    assert (response.status_code, response.json()["error"], response["Allow"]) == (405, "method_not_allowed", "POST")
    assert not DemoBooking.objects.exists()


def test_a_definition_sets_the_actions_it_names_and_keeps_the_rest(demo_definition):
    """load_demo_bot points the booking at CHARLA_DEMO_ACTION_URL with the demo secret; a definition without a
    URL keeps the bot's; an action name that is not a relative path is refused and changes nothing (importers
    check the same rule)."""
    call_command("load_demo_bot", action_url="http://127.0.0.1:8123/demo/actions/", stdout=io.StringIO())
    bot = Bot.objects.get(slug="demo")
    assert (bot.action_url, bot.action_secret) == ("http://127.0.0.1:8123/demo/actions/", demo_action_secret())
    assert bot.action_failure_responses["en"] and bot.action_timeout == 5
    assert Intent.objects.get(bot=bot, name="book_table").action == "book_table"
    bot_load_definition(definition=demo_definition)
    assert Bot.objects.get(slug="demo").action_url == "http://127.0.0.1:8123/demo/actions/"
    bad = {**demo_definition, "intents": [{**demo_definition["intents"][0], "action": "../admin"}]}
    with pytest.raises(ValidationError, match="relative path"):
        bot_load_definition(definition=bad)
    assert not Intent.objects.filter(action="../admin").exists()
    assert interchange_common.ACTION_NAME.pattern == ACTION_NAME
    with pytest.raises(ValidationError, match="non-empty texts"):
        bot_load_definition(definition={**demo_definition, "actions": {"failure": {"en": "not a list"}}})
    with pytest.raises(ValidationError, match="secret must not be empty"):
        bot_load_definition(definition={**demo_definition, "actions": {"secret": ""}})
    assert Bot.objects.get(slug="demo").action_secret == demo_action_secret()


def test_an_empty_action_secret_cannot_be_stored(demo_bot):
    """The database refuses it too, whatever writes it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Bot.objects.filter(pk=demo_bot.pk).update(action_secret="")
    assert Bot.objects.create(slug="shop", name="Shop", languages=["en"]).action_secret


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_bot_without_a_secret_a_random_one_and_keeps_the_others():
    """Bots stored with an empty secret before 0011 get distinct random ones; a bot's own secret stays."""
    executor = MigrationExecutor(connection)
    executor.migrate([("intents", "0010_bot_tune_encoder")])
    try:
        Old = executor.loader.project_state([("intents", "0010_bot_tune_encoder")]).apps.get_model("intents", "Bot")
        for slug, secret in (("a", ""), ("b", ""), ("c", "kept-secret")):
            Old.objects.create(slug=slug, name=slug, languages=["en"], action_secret=secret)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    secrets = dict(Bot.objects.values_list("slug", "action_secret"))
    assert secrets["c"] == "kept-secret"
    assert len(secrets["a"]) >= 40 and len(secrets["b"]) >= 40 and secrets["a"] != secrets["b"]


def _secrets_shown(page) -> dict[str, str]:
    """The bot slug → secret pairs of the admin's "shown once" page."""
    html = page.content.decode()
    pairs = re.findall(r'<label for="action-secret-\d+">([^<]+)</label>\s*<input [^>]*value="([^"]+)"', html)
    return dict(pairs)


def test_the_admin_masks_the_action_secret_and_shows_a_rotated_one_once(demo_bot, admin_client):
    """The bot page shows only the secret's last four characters and has no field holding it; the rotate action
    shows the new secret once, action calls are signed with it, and the bot page masks it again."""
    from conversations.dialogue.actions import ActionRequest
    from conversations.services import action_call_for

    Bot.objects.filter(pk=demo_bot.pk).update(action_secret="old-secret-ab12")
    change_url = f"/admin/intents/bot/{demo_bot.pk}/change/"
    change = admin_client.get(change_url).content.decode()
    assert "old-secret-ab12" not in change and "ending in …ab12" in change and 'name="action_secret"' not in change
    rotate = {"action": "rotate_action_secret", "_selected_action": [demo_bot.pk]}
    page = admin_client.post("/admin/intents/bot/", rotate)
    bot = Bot.objects.get(pk=demo_bot.pk)
    assert _secrets_shown(page) == {"demo": bot.action_secret} and "will not be shown again" in page.content.decode()
    assert len(bot.action_secret) >= 40 and bot.action_secret != "old-secret-ab12"
    request = ActionRequest(action="book_table", intent="book_table", slots={}, language="en", text="book")
    assert action_call_for(bot=bot, request=request).secret == bot.action_secret
    change = admin_client.get(change_url).content.decode()
    assert bot.action_secret not in change and f"ending in …{bot.action_secret[-4:]}" in change


def test_a_bot_added_in_the_admin_gets_an_action_secret_shown_once(db, admin_client):
    """Saving a new bot makes its action secret and shows it on the next page only."""
    assert "Made when the bot is saved" in admin_client.get("/admin/intents/bot/add/").content.decode()
    page = admin_client.post("/admin/intents/bot/add/", {
        "slug": "shop", "name": "Shop", "languages": '["en"]', "allowed_origins": "[]", "confidence_threshold": "0.5",
        "fallback_responses": "{}", "action_url": "", "action_timeout": "5", "action_failure_responses": "{}",
    })  # fmt: skip
    bot = Bot.objects.get(slug="shop")
    assert _secrets_shown(page) == {"shop": bot.action_secret} and len(bot.action_secret) >= 40
    assert bot.action_secret not in admin_client.get(f"/admin/intents/bot/{bot.pk}/change/").content.decode()
