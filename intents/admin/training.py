"""Training jobs in the admin: the list, and a job page whose status, stage and percent update live
(static/admin/charla-progress.js polls the job's progress.json), with the promotion decision once done."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..models import TrainingJob
from ..selectors import training_job_get

POLL_MILLISECONDS = 1000
FINISHED = (TrainingJob.Status.SUCCEEDED, TrainingJob.Status.FAILED)


def training_decision_text(job: TrainingJob | None) -> str:
    """The promotion decision with both accuracies and the reason; empty before the job decided."""
    if job is None or not job.decision:
        return ""

    def percent(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f} %"

    return (
        f"{job.get_decision_display()} (job #{job.pk}, {job.get_trigger_display().lower()}): candidate "
        f"{percent(job.candidate_accuracy)}, production {percent(job.production_accuracy)}. {job.decision_reason}"
    )


def _live(job: TrainingJob, inner: str, *args) -> str:
    """`inner` inside a root the polling script refreshes until the job is finished."""
    return format_html(
        '<div data-progress-url="{}" data-progress-interval="{}" data-progress-done="finished">' + inner + "</div>",
        reverse("admin:intents_trainingjob_progress", args=[job.pk]), POLL_MILLISECONDS, *args,
    )  # fmt: skip


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("id", "bot", "trigger", "status", "stage", "percent", "version", "decision", "requested_by",
                    "created_at", "finished_at")  # fmt: skip
    list_filter = ("bot", "status", "trigger", "decision")
    # Status, stage, percent, error, version and decision are inside the two live fields.
    fields = readonly_fields = ["live_progress", "outcome", "bot", "trigger", "promotion", "requested_by",
                                "created_at", "started_at", "heartbeat_at", "finished_at"]  # fmt: skip

    class Media:
        js = ["admin/charla-progress.js"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # written by the worker only: the page is a view

    def get_urls(self):
        progress = path("<int:pk>/progress.json", self.admin_site.admin_view(self.progress_view),
                        name="intents_trainingjob_progress")  # fmt: skip
        return [progress, *super().get_urls()]

    def progress_view(self, request, pk: int) -> JsonResponse:
        """JSON for the polling script, never cached; staff only (admin_view sends others to the login page),
        and only for users allowed to view training jobs."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "You may not view training jobs."}, status=403)
        job = training_job_get(job_id=pk)
        if job is None:
            return JsonResponse({"error": f"No training job {pk}."}, status=404)
        return JsonResponse({
            "id": job.pk, "status": job.status, "status_display": job.get_status_display(), "stage": job.stage,
            "progress": job.progress, "finished": job.status in FINISHED, "error": job.error,
            "version": str(job.version or ""), "decision": job.decision,
            "decision_summary": training_decision_text(job),
        })  # fmt: skip

    @admin.display(description="progress")
    def percent(self, obj: TrainingJob) -> str:
        if obj.status in FINISHED:
            return format_html("<progress max='100' value='{}'></progress> {} %", obj.progress, obj.progress)
        return _live(
            obj, '<progress max="100" value="{}" data-progress-field="progress"></progress> '
            '<span data-progress-field="progress">{}</span> %', obj.progress, obj.progress,
        )  # fmt: skip

    @admin.display(description="live progress")
    def live_progress(self, obj: TrainingJob) -> str:
        """Status, stage and percent, refreshed from progress.json until the job is finished."""
        return _live(
            obj, '<strong data-progress-field="status_display">{}</strong> · <span data-progress-field="stage">{}'
            '</span> · <progress max="100" value="{}" data-progress-field="progress"></progress> '
            '<span data-progress-field="progress">{}</span> %<p data-progress-field="error" '
            "data-progress-hide-empty {}>{}</p>",
            obj.get_status_display(), obj.stage or "–", obj.progress, obj.progress,
            "" if obj.error else "hidden", obj.error,
        )  # fmt: skip

    @admin.display(description="outcome")
    def outcome(self, obj: TrainingJob) -> str:
        """The version and the promotion decision (both accuracies, the reason), filled in when the job ends."""
        return _live(
            obj, '<span data-progress-field="version">{}</span><br><span data-progress-field="decision_summary">'
            "{}</span>", obj.version or "", training_decision_text(obj),
        )  # fmt: skip
