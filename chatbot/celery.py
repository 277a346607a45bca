import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")

app = Celery("chatbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def _limit_inference_threads(**_: object) -> None:
    """One intra-op thread per worker process: on a shared 2-core machine more threads make p99 explode."""
    from django.conf import settings

    from intents.classifier import configure_threads

    configure_threads(settings.CHARLA_TORCH_THREADS)
