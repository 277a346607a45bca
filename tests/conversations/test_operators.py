"""The analytics dashboard's numbers (PostgreSQL aggregations) and the operators' admin pages."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.operators.analytics import bot_analytics
from conversations.services.traffic import traffic_generate
from intents.models import ModelVersion, TrainingExample
from tests.conversations.factories import conversation, user_message

pytestmark = pytest.mark.django_db


def test_the_dashboard_counts_what_the_messages_say(demo_bot):
    """Per day, per intent, per language and per version, the counts, rates and latency percentiles agree with
    the stored messages; days without traffic are zeros; other bots and days outside the range are left out."""
    v1 = ModelVersion.objects.create(bot=demo_bot, version=1, encoder="e", data_fingerprint="f", artifact_path="x")
    today = timezone.localdate()
    noon = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time())) + timedelta(hours=12)
    chat = conversation(bot=demo_bot, language="es")
    Conversation.objects.filter(pk=chat.pk).update(created_at=noon - timedelta(days=2))
    for latency, outcome in [(0.1, "answered"), (0.2, "answered"), (0.3, "fallback"), (1.3, "handoff")]:
        user_message(bot=demo_bot, within=chat, language="es", intent="greet", outcome=outcome, latency=latency,
                     at=noon - timedelta(days=2), model_version=v1)  # fmt: skip
    user_message(bot=demo_bot, intent="thanks", outcome="out_of_scope", latency=0.5, at=noon, confidence=0.6)
    user_message(bot=demo_bot, intent="thanks", at=noon - timedelta(days=40))  # before the range

    analytics = bot_analytics(bot=demo_bot, start=today - timedelta(days=29), end=today)

    total = analytics.total
    assert (total.messages, total.fallback, total.out_of_scope, total.handoff) == (5, 1, 1, 1)
    assert total.conversations == 2 and total.fallback_rate == pytest.approx(20.0)
    assert total.p50 == pytest.approx(0.3) and total.p95 == pytest.approx(1.14)  # percentile_cont interpolates
    assert len(analytics.days) == 30 and analytics.days[-1].messages == 1 and analytics.days[-3].messages == 4
    assert analytics.days[-3].p50 == pytest.approx(0.25) and analytics.days[-3].conversations == 1
    assert sum(day.messages for day in analytics.days) == 5 and analytics.days[0].messages == 0
    assert [(g.label, g.messages) for g in analytics.intents] == [("greet", 4), ("thanks", 1)]
    assert [(g.label, g.messages) for g in analytics.languages] == [("es", 4), ("en", 1)]
    assert [(g.label, g.messages, g.handoff) for g in analytics.versions] == [("none", 1, 0), ("v1", 4, 1)]
    with pytest.raises(ValueError):
        bot_analytics(bot=demo_bot, start=today, end=today - timedelta(days=1))


def test_generated_traffic_aggregates_like_the_rows(demo_bot):
    """analytics_generate's rows (made inside PostgreSQL) add up on the dashboard to what a plain count finds."""
    generated = traffic_generate(bot=demo_bot, messages=2000, days=10)
    users = Message.objects.filter(bot=demo_bot, role="user")
    assert Message.objects.filter(bot=demo_bot).count() == generated.messages == 2 * users.count()
    today = timezone.localdate()
    analytics = bot_analytics(bot=demo_bot, start=today - timedelta(days=11), end=today)
    expected = users.aggregate(n=Count("pk"), fallback=Count("pk", filter=Q(outcome="fallback")))
    assert (analytics.total.messages, analytics.total.fallback) == (expected["n"], expected["fallback"])
    assert analytics.total.conversations == generated.conversations
    assert 0 < analytics.total.p50 < analytics.total.p95 < 3


@pytest.fixture
def staff_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("olga", password="pw"))
    return client


def test_the_admin_pages_show_the_inbox_and_the_dashboard_and_review_in_bulk(demo_bot, staff_client):
    """The index and the bot's page link both pages; the inbox lists a message with its transcript link; a bulk
    post adds the checked messages as examples of the chosen intent and they leave the inbox; the dashboard
    renders its charts and tables; a bad range is an error on the page, not a crash."""
    index = staff_client.get("/admin/").content.decode()
    assert "/admin/conversations/inboxmessage/" in index and "/admin/conversations/botanalytics/" in index
    bot_page = staff_client.get(f"/admin/intents/bot/{demo_bot.pk}/change/").content.decode()
    assert f"/admin/conversations/inboxmessage/?bot={demo_bot.pk}" in bot_page
    first, second = user_message(bot=demo_bot, text="hiya pal"), user_message(bot=demo_bot, text="heya")
    url = f"/admin/conversations/inboxmessage/?bot={demo_bot.pk}"
    page = staff_client.get(url).content.decode()
    assert "hiya pal" in page and f"/admin/conversations/conversation/{first.conversation_id}/change/" in page

    greet = demo_bot.intents.get(name="greet")
    posted = staff_client.post(url, {"ids": [first.pk, second.pk], "action": "example", "intent": greet.pk})
    assert posted.status_code == 302 and posted["Location"] == url
    assert set(greet.examples.filter(text__in=["hiya pal", "heya"]).values_list("text", flat=True)) == {
        "hiya pal", "heya"
    }
    after = staff_client.get(url).content.decode()
    assert "hiya pal" not in after and "2 messages added as examples of greet" in after
    refused = staff_client.post(url, {"action": "example", "intent": greet.pk}, follow=True).content.decode()
    assert "Select at least one message" in refused

    dashboard = staff_client.get(f"/admin/conversations/botanalytics/?bot={demo_bot.pk}").content.decode()
    assert dashboard.count("<svg class=\"chart\"") == 5 and "Per model version" in dashboard
    bad = staff_client.get("/admin/conversations/botanalytics/?start=2026-02-01&end=2025-01-01")
    assert bad.status_code == 200 and "must not be after" in bad.content.decode()


def test_staff_without_permission_see_neither_page(demo_bot, client):
    """A staff member not granted the pages' permissions gets 403, and cannot post a review."""
    client.force_login(get_user_model().objects.create_user("sam", password="pw", is_staff=True))
    message = user_message(bot=demo_bot)
    assert client.get("/admin/conversations/inboxmessage/").status_code == 403
    assert client.get("/admin/conversations/botanalytics/").status_code == 403
    posted = client.post("/admin/conversations/inboxmessage/", {"ids": [message.pk], "action": "ignored"})
    assert posted.status_code == 403
    assert Message.objects.get(pk=message.pk).reviewed_at is None


def test_the_generator_command_refuses_an_unknown_bot(db):
    """A clear error, nothing written."""
    with pytest.raises(Exception, match="No bot with slug 'nope'"):
        call_command("analytics_generate", "--bot", "nope", "--messages", "100")
    assert not Message.objects.exists() and not TrainingExample.objects.exists()
