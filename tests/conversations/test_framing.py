"""Who may frame Charla's pages: the embed page only its bot's origins; nothing else, the admin included."""

import pytest

pytestmark = pytest.mark.django_db


def _frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("frame-ancestors"))


def test_the_embed_page_may_be_framed_by_the_bots_origins(client, demo_bot, settings):
    """frame-ancestors lists the origins configured globally and for the bot; no X-Frame-Options to contradict it."""
    settings.CHARLA_ALLOWED_ORIGINS = ["http://127.0.0.1:8000"]
    demo_bot.allowed_origins = ["https://shop.example", "https://blog.example:8443/"]
    demo_bot.save()
    response = client.get("/embed/demo/")
    assert response.status_code == 200
    assert _frame_ancestors(response).split()[1:] == [
        "http://127.0.0.1:8000", "https://blog.example:8443", "https://shop.example"
    ]
    assert "X-Frame-Options" not in response.headers


def test_a_malformed_origin_cannot_add_a_directive(client, demo_bot, settings):
    """An origin with a ';' or a space in a bot's settings is left out, not pasted into the policy."""
    settings.CHARLA_ALLOWED_ORIGINS = []
    demo_bot.allowed_origins = ["https://ok.example", "https://x.example; script-src *", "https://a.example b"]
    demo_bot.save()
    response = client.get("/embed/demo/")
    assert _frame_ancestors(response) == "frame-ancestors https://ok.example"
    assert "script-src *" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/chat/demo/", "/admin/login/", "/static/chatbot/widget.js", "/no-such-page/"])
def test_every_other_response_refuses_to_be_framed(client, demo_bot, path):
    """Chat page, admin, static files and errors: frame-ancestors 'none' and X-Frame-Options: DENY."""
    response = client.get(path)
    assert _frame_ancestors(response) == "frame-ancestors 'none'"
    if path != "/static/chatbot/widget.js":  # WhiteNoise answers before Django's clickjacking middleware runs
        assert response.headers["X-Frame-Options"] == "DENY"


def test_the_widget_script_is_served_under_both_urls(client):
    """/static/chatbot/widget.js (the documented URL) and /static/widget/widget.js are the same script."""
    documented = b"".join(client.get("/static/chatbot/widget.js").streaming_content)
    assert documented.startswith(b"/*! Charla chat widget")
    assert documented == b"".join(client.get("/static/widget/widget.js").streaming_content)
