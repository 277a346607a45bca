"""Per-bot API keys: created in the admin and shown once, checked by DRF, revoked for good; JSON errors."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from intents.models import ApiKey, Bot
from intents.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db(transaction=True)  # async views run their queries on threads of their own

PARSE = "/api/bots/demo/parse"


def _post(client: APIClient, url: str = PARSE, body: dict | None = None, **extra):
    return client.post(url, body if body is not None else {"text": "hello"}, format="json", **extra)


def test_the_admin_shows_a_new_key_once_and_stores_only_its_hash(trained_demo_bot, admin_client):
    """Saving a key in the admin shows the full key on the next page; the row keeps its prefix and hash only,
    and the key works until the admin's revoke action."""
    page = admin_client.post("/admin/intents/apikey/add/", {"bot": trained_demo_bot.pk, "name": "shop backend"})
    html = page.content.decode()
    key = ApiKey.objects.get()
    raw = html.split('id="api-key"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert page.status_code == 200 and "will not be shown again" in html
    assert raw.startswith(key.prefix) and len(raw) > 30 and raw not in (key.key_hash, key.prefix)
    assert raw not in admin_client.get(f"/admin/intents/apikey/{key.pk}/change/").content.decode()
    assert _post(APIClient(), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None and key.created_by.is_superuser
    assert key.prefix in admin_client.get("/admin/intents/apikey/").content.decode()
    admin_client.post("/admin/intents/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert _post(APIClient(), HTTP_AUTHORIZATION=f"Bearer {raw}").json()["code"] == "revoked_api_key"


def test_each_way_of_presenting_a_key_works(trained_demo_bot):
    """Bearer and Token headers and Rasa's ?token= all authenticate a key; a staff token still works too."""
    _, raw = api_key_create(bot=trained_demo_bot, name="backend")
    client = APIClient()
    assert _post(client, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert _post(client, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200
    assert _post(client, f"{PARSE}?token={raw}").status_code == 200
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    assert _post(client, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}").status_code == 200


def test_missing_or_wrong_credentials_get_401_with_a_json_error(trained_demo_bot):
    """No credentials, an unknown key (header or ?token=), a malformed header or a bad staff token: 401 with a
    code, a message and the Bearer challenge."""
    cases = [
        ({}, "not_authenticated"),
        ({"HTTP_AUTHORIZATION": "Bearer ck_wrong"}, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "Bearer"}, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "Token not-a-staff-token"}, "authentication_failed"),
    ]
    for headers, code in cases:
        response = _post(APIClient(), **headers)
        assert (response.status_code, response.json()["code"]) == (401, code), headers
        assert response.json()["message"] and response["WWW-Authenticate"].startswith("Bearer")
    assert _post(APIClient(), f"{PARSE}?token=ck_wrong").json()["code"] == "invalid_api_key"


def test_a_revoked_key_stops_working_and_another_bots_key_is_refused(trained_demo_bot):
    """A revoked key gets 401 `revoked_api_key`; a key of another bot gets 403 naming both bots."""
    key, raw = api_key_create(bot=trained_demo_bot, name="old")
    other = Bot.objects.create(slug="shop", name="Shop", languages=["en"])
    _, other_raw = api_key_create(bot=other, name="shop")
    api_key_revoke(key=key)
    revoked = _post(APIClient(), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (revoked.status_code, revoked.json()["code"]) == (401, "revoked_api_key")
    foreign = _post(APIClient(), HTTP_AUTHORIZATION=f"Bearer {other_raw}")
    assert foreign.status_code == 403 and "'shop', not 'demo'" in foreign.json()["message"]
    rasa = _post(APIClient(), f"/model/parse?bot=demo&token={other_raw}")
    assert rasa.status_code == 403
    assert _post(APIClient(), f"/model/parse?token={other_raw}").status_code == 503  # its own bot: no model yet


def test_a_non_staff_user_is_refused(trained_demo_bot):
    """A logged-in user who is not staff has no access to a bot's API."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("visitor", password="x"))
    assert _post(client).status_code == 403
