from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # Registers the Celery tasks in web processes too, where the answer queue looks them up by name.
        from . import tasks  # noqa: F401
