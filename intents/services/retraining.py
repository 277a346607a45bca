"""Nightly retraining: bots that opted in get a candidate trained when their examples changed, promoted only
if it is not worse than production (the rule lives in registry.model_version_promote_if_not_worse)."""

import logging

from ..models import Bot, ModelVersion, TrainingJob
from .registry import model_is_current
from .training import training_job_request

logger = logging.getLogger(__name__)


def bots_retrain_changed() -> list[TrainingJob]:
    """Queue a training job (promotion: if not worse) for each bot with `retrain_nightly` whose examples changed
    since its newest version, candidate or production, was trained: a candidate kept back last night is not
    trained again from the same examples. A bot with a job queued or running is left to it."""
    busy = TrainingJob.objects.filter(status__in=[TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING])
    jobs = []
    for bot in Bot.objects.filter(retrain_nightly=True).exclude(pk__in=busy.values("bot_id")):
        newest = ModelVersion.objects.filter(bot=bot).order_by("-version").first()
        if model_is_current(bot=bot, version=newest):
            logger.info("nightly retraining: %s unchanged since %s", bot.slug, newest)
            continue
        jobs.append(training_job_request(
            bot=bot, promotion=TrainingJob.Promotion.IF_NOT_WORSE, trigger=TrainingJob.Trigger.SCHEDULED
        ))  # fmt: skip
    return jobs
