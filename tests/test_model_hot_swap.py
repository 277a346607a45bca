"""Promotion under traffic, with a real answer worker: no restart, one version per message, no shared disk, and the
promoted version loaded before the worker answers with it."""

import shutil
import time

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import message_receive, session_open
from intents.models import ModelVersion
from intents.services import artifact_publish, model_version_promote
from intents.services.artifacts import CHECKSUMS
from tests.live import answer_workers_holding, use_model_storage

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


def publish(bot, number: int, artifact) -> ModelVersion:
    return ModelVersion.objects.create(
        bot=bot, version=number, encoder="all-MiniLM-L6-v2", data_fingerprint="test",
        artifact_path=artifact_publish(directory=artifact, key=f"{bot.slug}/v{number}"), evaluated_at=timezone.now(),
    )  # fmt: skip


def test_a_worker_on_another_host_serves_a_version_promoted_after_it_started(
    demo_bot, demo_artifact, worker, worker_host, settings, tmp_path
):
    """The worker shares only the model storage with this process (host A): it downloads each promoted version
    into its own cache and answers with it, without a restart. It loads a promoted version before it answers with
    it and names it in its heartbeat: the first answer after that carries no model loading."""
    use_model_storage(settings, storage=worker_host["storage"], cache=tmp_path / "host-a")
    v1 = model_version_promote(version=publish(demo_bot, 1, demo_artifact))
    [first] = wait_answered(send(demo_bot, ["hello"], "a"))
    assert (first.model_version_id, first.reply.intent) == (v1.pk, "greet")

    v2 = model_version_promote(version=publish(demo_bot, 2, demo_artifact))
    [beat] = answer_workers_holding(v2.pk)
    assert beat["pid"] == worker.pid and beat["versions"] == {str(demo_bot.pk): v2.pk}
    [second] = wait_answered(send(demo_bot, ["thank you"], "b"))
    assert (second.model_version_id, second.reply.intent) == (v2.pk, "thanks")
    assert "model_load_s" not in second.timings
    cache = worker_host["cache"]
    downloaded = sorted(p.parent.relative_to(cache).parts[:2] for p in cache.rglob(CHECKSUMS))
    assert downloaded == [("demo", "v1"), ("demo", "v2")]
    assert worker.poll() is None
