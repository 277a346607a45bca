from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"
    verbose_name = "Intents and models"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the dialogue-revision receivers)
