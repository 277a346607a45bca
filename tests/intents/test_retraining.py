"""Nightly retraining: opted-in bots whose examples changed get a candidate, promoted only if not less accurate."""

import pytest

from intents import tasks
from intents.models import Bot, ModelVersion, TrainingJob
from intents.services import model_version_promote_if_not_worse

pytestmark = pytest.mark.django_db


def version(bot: Bot, number: int, artifact, accuracy: float | None, stage=ModelVersion.Stage.CANDIDATE, **kwargs):
    evaluation = (
        {"accuracy": accuracy, "method": "cross-validation"} if accuracy is not None else {"skipped": "too few"}
    )
    return ModelVersion.objects.create(
        bot=bot, version=number, stage=stage, encoder="all-MiniLM-L6-v2",
        data_fingerprint=kwargs.get("fingerprint", "old"),
        artifact_path=str(artifact), evaluation=evaluation, evaluated_at=bot.created_at,
    )  # fmt: skip


def test_the_nightly_task_trains_changed_bots_and_promotes_a_better_candidate(
    demo_bot, demo_artifact, model_dir, eager_tasks, django_capture_on_commit_callbacks, admin_client
):
    """The beat task trains a candidate of an opted-in bot whose examples changed (the real demo model), promotes
    it as it is not less accurate, records both accuracies and the reason, and the admin shows the decision.
    The next night nothing changed, so nothing is trained; a bot that did not opt in is never trained."""
    Bot.objects.filter(pk=demo_bot.pk).update(retrain_nightly=True)
    Bot.objects.create(slug="quiet", name="Quiet", languages=["en"])
    old = version(demo_bot, 1, demo_artifact, 60.0, stage=ModelVersion.Stage.PRODUCTION)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.bots_retrain_changed() == 1

    job = TrainingJob.objects.get(bot=demo_bot)
    assert (job.status, job.trigger, job.promotion, job.decision) == (
        "succeeded",
        "scheduled",
        "if_not_worse",
        "promoted",
    )
    assert job.production_accuracy == 60.0 and job.candidate_accuracy >= 60.0
    assert f"not lower than production's 60.00 % (v{old.version})" in job.decision_reason
    assert job.version.stage == ModelVersion.Stage.PRODUCTION and job.version.version == 2
    assert not TrainingJob.objects.filter(bot__slug="quiet").exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.bots_retrain_changed() == 0  # the newest version was trained on today's examples

    page = admin_client.get(f"/admin/intents/trainingjob/{job.pk}/change/").content.decode()
    assert "Promoted (job #" in page and "production 60.00 %" in page and "admin/charla-progress.js" in page
    version_page = admin_client.get(f"/admin/intents/modelversion/{job.version.pk}/change/").content.decode()
    assert "Promoted (job #" in version_page


def test_a_less_accurate_candidate_leaves_production_in_place(demo_bot, demo_artifact):
    """Candidate 88 % against production 90 %: production stays, the candidate stays a candidate, and the
    decision says why with both numbers."""
    production = version(demo_bot, 1, demo_artifact, 90.0, stage=ModelVersion.Stage.PRODUCTION)
    candidate = version(demo_bot, 2, demo_artifact, 88.0)
    decision = model_version_promote_if_not_worse(version=candidate)
    assert (decision.decision, decision.candidate_accuracy, decision.production_accuracy) == ("kept", 88.0, 90.0)
    assert "88.00 % is lower than production's 90.00 %" in decision.reason
    production.refresh_from_db()
    candidate.refresh_from_db()
    assert (production.stage, candidate.stage) == ("production", "candidate")


def test_an_equally_accurate_candidate_is_promoted(demo_bot, demo_artifact):
    """ "Not lower" includes equal: the new examples are served."""
    version(demo_bot, 1, demo_artifact, 90.0, stage=ModelVersion.Stage.PRODUCTION)
    candidate = version(demo_bot, 2, demo_artifact, 90.0)
    assert model_version_promote_if_not_worse(version=candidate).decision == "promoted"
    assert ModelVersion.objects.get(bot=demo_bot, stage="production").pk == candidate.pk


def test_without_numbers_to_compare_the_rule_is_cautious(demo_bot, demo_artifact):
    """No production yet: promote. A candidate that could not be cross-validated: keep production."""
    first = version(demo_bot, 1, demo_artifact, None)
    decision = model_version_promote_if_not_worse(version=first)
    assert decision.decision == "promoted" and decision.reason == "There was no production version."
    second = version(demo_bot, 2, demo_artifact, None)
    decision = model_version_promote_if_not_worse(version=second)
    assert decision.decision == "kept" and "no cross-validated accuracy" in decision.reason


def test_a_bot_with_a_job_in_progress_is_not_queued_twice(demo_bot):
    """A night's retraining does not pile a second job on a bot whose training is still queued or running."""
    Bot.objects.filter(pk=demo_bot.pk).update(retrain_nightly=True)
    TrainingJob.objects.create(bot=demo_bot, status=TrainingJob.Status.RUNNING)
    assert tasks.bots_retrain_changed() == 0


def test_the_progress_endpoint_is_json_for_staff_only(demo_bot, admin_client, client, django_user_model):
    """progress.json gives status, stage and percent to staff allowed to view jobs; a staff user without that
    permission gets a JSON 403, an unknown job a JSON 404, and a visitor the login page."""
    job = TrainingJob.objects.create(bot=demo_bot, status=TrainingJob.Status.RUNNING, stage="encoding", progress=37)
    url = f"/admin/intents/trainingjob/{job.pk}/progress.json"
    body = admin_client.get(url).json()
    assert {k: body[k] for k in ("status", "stage", "progress", "finished")} == {
        "status": "running", "stage": "encoding", "progress": 37, "finished": False}  # fmt: skip
    assert admin_client.get(url)["Cache-Control"].startswith("max-age=0")
    assert admin_client.get("/admin/intents/trainingjob/999999/progress.json").status_code == 404
    assert client.get(url).status_code == 302
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    denied = client.get(url)
    assert denied.status_code == 403 and "error" in denied.json()


def test_switching_the_fine_tuned_encoder_makes_the_newest_version_out_of_date(demo_bot, demo_artifact):
    """The training fingerprint names the encoder as trained: a version trained on today's examples is current
    until the bot's `tune_encoder` changes, so `--if-changed` and nightly retraining train it again."""
    from intents.selectors import training_data_for_bot
    from intents.services import training_data_fingerprint
    from intents.services.registry import model_is_current

    fingerprint = training_data_fingerprint(data=training_data_for_bot(bot=demo_bot), encoder="all-MiniLM-L6-v2")
    current = version(demo_bot, 1, demo_artifact, 90.0, stage=ModelVersion.Stage.PRODUCTION, fingerprint=fingerprint)
    assert model_is_current(bot=demo_bot, version=current)
    demo_bot.tune_encoder = True
    demo_bot.save(update_fields=["tune_encoder"])
    assert not model_is_current(bot=demo_bot, version=current)
