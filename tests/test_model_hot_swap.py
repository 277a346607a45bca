"""Promotion under traffic, with a real Celery worker: no restart, and one version per message."""

import shutil
import time

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import message_receive, session_open
from intents.models import ModelVersion
from intents.services import model_version_promote

pytestmark = pytest.mark.django_db(transaction=True)
TEXTS = ["hello", "what time do you open?", "thank you", "who are you?", "hola", "¿a qué hora abren?"]


def send(bot, texts: list[str], prefix: str) -> list[Message]:
    session = session_open(bot=bot, user_id=None, token=None, language="en")
    return [
        message_receive(conversation_id=session.conversation_id, text=text, client_id=f"{prefix}{i}")[0]
        for i, text in enumerate(texts)
    ]


def wait_answered(messages: list[Message], deadline_s: float = 180) -> list[Message]:
    """Waits for the worker; a deadline only so a broken worker fails the test instead of hanging it."""
    ids = [m.pk for m in messages]
    deadline = time.monotonic() + deadline_s
    while Message.objects.filter(pk__in=ids, status=Message.Status.PENDING).exists():
        assert time.monotonic() < deadline, "the worker did not answer in time"
        time.sleep(0.2)
    return list(Message.objects.filter(pk__in=ids).select_related("reply").order_by("seq"))


def test_promotion_reaches_a_running_worker_and_each_message_has_one_version(
    trained_demo_bot, demo_artifact, tmp_path, worker
):
    """Messages queued around a promotion are each classified and answered by one version (stored on both)."""
    v1 = ModelVersion.objects.get(bot=trained_demo_bot)
    v2 = ModelVersion.objects.create(
        bot=trained_demo_bot, version=2, encoder=v1.encoder, data_fingerprint="test",
        artifact_path=str(shutil.copytree(demo_artifact, tmp_path / "v2")), evaluated_at=timezone.now(),
    )  # fmt: skip
    before = send(trained_demo_bot, TEXTS, "a")  # queued; the worker is answering them while we promote
    model_version_promote(version=v2)
    after = send(trained_demo_bot, TEXTS, "b")

    answered_before, answered_after = wait_answered(before), wait_answered(after)
    for message in answered_before + answered_after:
        assert message.model_version_id in (v1.pk, v2.pk)
        assert message.reply.model_version_id == message.model_version_id
    assert {m.model_version_id for m in answered_after} == {v2.pk}  # stored after the promotion committed
    served = [m.model_version_id for m in answered_before]
    assert served == sorted(served, key=lambda pk: pk != v1.pk)  # in seq order: v1 until the switch, then v2
    assert worker.poll() is None  # the same process, never restarted
