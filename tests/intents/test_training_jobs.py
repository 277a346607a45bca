"""Training from the admin: a job on the `training` queue, run by a real Celery worker, progress in the admin."""

import time

import pytest

from intents.models import ModelVersion, TrainingJob
from tests.live import stack_env, start_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def training_worker(stack_logs, tmp_path):
    """A worker on the training queue only, writing models under this test's folder."""
    models = tmp_path / "models"
    process = start_worker("training", stack_env({"CHARLA_MODEL_DIR": str(models)}), stack_logs / "training.log",
                           queues="training")  # fmt: skip
    yield models
    stop(process)


def wait_finished(job_id: int, deadline_s: float = 240) -> TrainingJob:
    """Waits for the worker; a deadline only so a broken worker fails the test instead of hanging it."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if job.status in (TrainingJob.Status.SUCCEEDED, TrainingJob.Status.FAILED):
            return job
        time.sleep(0.5)
    raise AssertionError(f"training job {job_id} still {job.status} at stage {job.stage!r}")


def test_admin_training_runs_on_the_training_queue_and_shows_progress(demo_bot, admin_client, training_worker):
    """The admin's "train and promote": the worker trains, evaluates and promotes; the admin shows the report."""
    admin_client.post("/admin/intents/bot/", {"action": "train_and_promote", "_selected_action": [demo_bot.pk]})
    job = wait_finished(TrainingJob.objects.get(bot=demo_bot).pk)
    assert (job.status, job.stage, job.progress, job.error) == (TrainingJob.Status.SUCCEEDED, "done", 100, "")
    version = job.version
    assert version.stage == ModelVersion.Stage.PRODUCTION and version.trained_by is not None
    assert str(training_worker) in version.artifact_path
    assert set(version.evaluation["per_language"]) == {"en", "es"} and version.evaluation["accuracy"] > 80

    jobs_page = admin_client.get("/admin/intents/trainingjob/").content.decode()
    assert "<progress max='100' value='100'>" in jobs_page
    version_page = admin_client.get(f"/admin/intents/modelversion/{version.pk}/change/").content.decode()
    assert (
        "cross-validation" in version_page
        and f"/admin/intents/modelversion/{version.pk}/evaluation.png" in version_page
    )
    plot = admin_client.get(f"/admin/intents/modelversion/{version.pk}/evaluation.png")
    assert plot["Content-Type"] == "image/png" and b"".join(plot.streaming_content)[:4] == b"\x89PNG"


def test_a_job_delivered_twice_trains_once(demo_bot, model_dir):
    """A second delivery of a job that already ran (or runs) does nothing."""
    from intents.services import training_job_run

    job = TrainingJob.objects.create(bot=demo_bot, status=TrainingJob.Status.RUNNING)
    assert training_job_run(job_id=job.pk).status == TrainingJob.Status.RUNNING
    assert not ModelVersion.objects.filter(bot=demo_bot).exists()
