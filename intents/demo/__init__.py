"""The demo bot: its definition (demo_bot.json) and the restaurant backend its `book_table` action calls."""

from django.conf import settings
from django.utils.crypto import salted_hmac


def demo_action_secret() -> str:
    """CHARLA_DEMO_ACTION_SECRET, or one derived from SECRET_KEY: every process of a deployment agrees on it."""
    return settings.CHARLA_DEMO_ACTION_SECRET or salted_hmac("charla.demo.action", "secret").hexdigest()
