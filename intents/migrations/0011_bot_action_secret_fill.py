"""Bots loaded from a definition without an action secret had an empty one, and their action calls were signed
with an empty key: each gets a random secret here (rotate it in the admin to see it, docs/actions.md); the next
migration makes an empty secret impossible."""

import secrets

from django.db import migrations


def fill(apps, schema_editor) -> None:
    Bot = apps.get_model("intents", "Bot")
    for bot in Bot.objects.filter(action_secret=""):
        Bot.objects.filter(pk=bot.pk).update(action_secret=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [("intents", "0010_bot_tune_encoder")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
