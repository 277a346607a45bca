"""Training from the admin: a job on the `training` queue, run by a real Celery worker, progress in the admin."""

import signal
import time
from datetime import timedelta

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


def test_admin_training_runs_on_the_training_queue_and_shows_progress(
    demo_bot, admin_client, training_worker, model_dir
):
    """The admin's "train and promote": the worker trains, evaluates and promotes; the admin shows the report."""
    admin_client.post("/admin/intents/bot/", {"action": "train_and_promote", "_selected_action": [demo_bot.pk]})
    job = wait_finished(TrainingJob.objects.get(bot=demo_bot).pk)
    assert (job.status, job.stage, job.progress, job.error) == (TrainingJob.Status.SUCCEEDED, "done", 100, "")
    version = job.version
    assert version.stage == ModelVersion.Stage.PRODUCTION and version.trained_by is not None
    assert (training_worker / version.artifact_path / "checksums.json").is_file()  # published to the model storage
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


def test_a_job_whose_worker_is_killed_is_failed_by_the_stale_sweep(demo_bot, stack_logs, tmp_path):
    """A worker SIGKILLed mid-training leaves its job running; once its heartbeats stop, the sweep fails it."""
    from intents.services import training_job_request, training_jobs_fail_stale

    env = stack_env({"CHARLA_MODEL_DIR": str(tmp_path / "models"), "CHARLA_TRAINING_HEARTBEAT_SECONDS": "0.5"})
    worker = start_worker("killed-training", env, stack_logs / "killed-training.log", queues="training")
    try:
        job = training_job_request(bot=demo_bot)
        first_beat = _wait_for(job.pk, lambda j: j.status == TrainingJob.Status.RUNNING and j.heartbeat_at)
        later = _wait_for(job.pk, lambda j: j.heartbeat_at > first_beat.heartbeat_at)  # beats while it trains
        assert training_jobs_fail_stale(older_than=timedelta(seconds=5)) == 0  # a live worker's job is left alone
        assert later.status == TrainingJob.Status.RUNNING
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
    finally:
        stop(worker)
    time.sleep(2.5)
    assert training_jobs_fail_stale(older_than=timedelta(seconds=2)) == 1
    failed = TrainingJob.objects.get(pk=job.pk)
    assert failed.status == TrainingJob.Status.FAILED and "heartbeats" in failed.error and failed.finished_at
    assert not ModelVersion.objects.filter(bot=demo_bot).exists()


def _wait_for(job_id: int, condition, deadline_s: float = 120) -> TrainingJob:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if condition(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"training job {job_id} never reached the expected state (last: {job.status}, {job.stage!r})")
