import os

from celery import Celery
from celery.signals import import_modules, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")

app = Celery("chatbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@import_modules.connect
def _refuse_public_secret_key(**_: object) -> None:
    """Workers and beat start through here; Celery re-raises what this signal's receivers raise."""
    from chatbot.hardening import secret_key_require

    secret_key_require()


@worker_init.connect
@worker_process_init.connect
def _limit_inference_threads(**_: object) -> None:
    """One intra-op thread per worker process: on a shared 2-core machine more threads make p99 explode."""
    from django.conf import settings

    from intents.classifier import configure_threads

    configure_threads(settings.CHARLA_TORCH_THREADS)
