"""Batch prediction jobs in the admin: upload a CSV for a bot, watch progress live, download the results."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from ..batch_input import BatchInputError, texts_from_csv
from ..models import Bot, PredictionJob
from ..services import BatchUnsupportedError, NoModelError, prediction_job_cancel, prediction_job_create


class PredictionUploadForm(forms.Form):
    bot = forms.ModelChoiceField(queryset=Bot.objects.all())
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, one text per row; or a header row with a `text` column and an optional `id` column.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        if upload.size > settings.CHARLA_BATCH_MAX_BYTES:
            raise forms.ValidationError(f"The file is over {settings.CHARLA_BATCH_MAX_BYTES} bytes; split it.")
        try:
            cleaned["texts"] = texts_from_csv(
                upload.read(), max_items=settings.CHARLA_BATCH_MAX_ITEMS, max_chars=settings.CHARLA_MAX_MESSAGE_CHARS
            )
        except BatchInputError as exc:
            raise forms.ValidationError(
                [exc.message, *(f"row {e['row']}: {e['error']}" for e in exc.errors)]
            ) from exc
        return cleaned


def _status_url(job: PredictionJob) -> str:
    return reverse("prediction-job", kwargs={"slug": job.bot.slug, "job_id": job.pk})


@admin.register(PredictionJob)
class PredictionJobAdmin(admin.ModelAdmin):
    list_display = ("id", "bot", "progress", "total_items", "version", "source", "created_at", "finished_at")
    list_filter = ("bot", "status")
    list_select_related = ("bot", "model_version")
    fields = ("bot", "progress", "results", "total_items", "done_items", "version", "source", "error",
              "requested_by", "created_at", "started_at", "finished_at")  # fmt: skip
    readonly_fields = fields
    actions = ["cancel"]

    class Media:
        js = ["admin/charla-progress.js"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a job is read-only: its page is a live view

    @admin.display(description="model version")
    def version(self, job: PredictionJob) -> int:
        return job.model_version.version

    @admin.display(description="progress")
    def progress(self, job: PredictionJob) -> str:
        """A bar and label that static/admin/charla-progress.js refreshes from the job's REST status until the job
        has a `finished_at` (done, failed or cancelled)."""
        percent = f"{job.percent:g}"  # as the script writes it: 0, 57.3, 100
        return format_html(
            "<span class='prediction-progress' data-progress-url='{}' data-progress-done='finished_at'>"
            "<progress max='100' value='{}' data-progress-field='progress'></progress> "
            "<span class='prediction-progress-label'><span data-progress-field='status'>{}</span> · "
            "<span data-progress-field='progress'>{}</span> % (<span data-progress-field='done_items'>{}</span>/"
            "<span data-progress-field='total_items'>{}</span>)</span></span>",
            _status_url(job), percent, job.status, percent, job.done_items, job.total_items,
        )  # fmt: skip

    @admin.display(description="results")
    def results(self, job: PredictionJob) -> str:
        url = reverse("prediction-job-results", kwargs={"slug": job.bot.slug, "job_id": job.pk})
        return format_html("<a href='{}?format=csv'>Download CSV</a> · <a href='{}?format=jsonl'>JSON lines</a>",
                           url, url)  # fmt: skip

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request, queryset) -> None:
        for job in queryset:
            prediction_job_cancel(job=job)
        self.message_user(request, f"Cancelled {queryset.count()} job(s) that were still queued or running.")

    def add_view(self, request, form_url="", extra_context=None):
        """The upload page: a valid CSV becomes a job, and the browser goes to its live page."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PredictionUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = prediction_job_create(
                    bot=form.cleaned_data["bot"], texts=form.cleaned_data["texts"], requested_by_id=request.user.pk,
                    source=form.cleaned_data["file"].name[:200],
                )  # fmt: skip
            except (NoModelError, BatchUnsupportedError) as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Queued {job.total_items} texts for {job.bot.slug}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:intents_predictionjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Classify a CSV file", "form": form,
                   "opts": self.model._meta, "max_items": settings.CHARLA_BATCH_MAX_ITEMS}  # fmt: skip
        return TemplateResponse(request, "admin/intents/predictionjob/upload.html", context)
