"""The dialogue configuration: loaded from a bot definition, idempotently, and editable in the admin."""

import pytest

from intents.models import Entity, IntentContext, Response, Slot
from intents.services import bot_load_definition

pytestmark = pytest.mark.django_db


def test_loading_the_demo_twice_keeps_one_copy_of_slots_contexts_and_conditioned_responses(demo_bot, demo_definition):
    """book_table's slots, its output context, thanks' answer in context and help's buttons survive a reload once."""
    before = (Slot.objects.count(), IntentContext.objects.count(), list(Response.objects.values_list("pk", flat=True)))
    bot_load_definition(definition=demo_definition)
    after = (Slot.objects.count(), IntentContext.objects.count(), list(Response.objects.values_list("pk", flat=True)))
    assert before == after
    assert list(Slot.objects.filter(intent__name="book_table").values_list("name", "entity")) == [
        ("people", "sys.number"), ("when", "sys.datetime"), ("email", "sys.email"),
    ]
    assert Response.objects.filter(intent__name="thanks", context="booked").count() == 2
    assert Response.objects.filter(intent__name="help", language="en").exclude(buttons=[]).exists()


def test_the_admin_edits_intents_with_slots_and_contexts_and_entities(demo_bot, admin_client):
    """Intent pages show the slot, context and response inlines; entities have their own page."""
    intent = demo_bot.intents.get(name="book_table")
    page = admin_client.get(f"/admin/intents/intent/{intent.pk}/change/")
    assert page.status_code == 200 and b"sys.datetime" in page.content and b"booked" in page.content
    Entity.objects.create(bot=demo_bot, name="code", kind="regex", pattern=r"#\d+")
    assert admin_client.get("/admin/intents/entity/").status_code == 200
