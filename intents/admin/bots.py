from django.contrib import admin, messages
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import re_path, reverse
from django.utils.html import format_html, format_html_join

from ..models import (
    Bot,
    Entity,
    EntityValue,
    Intent,
    IntentContext,
    ModelVersion,
    Response,
    Slot,
    TrainingExample,
    TrainingJob,
)
from ..selectors import model_version_example_changes, training_job_for_version
from ..services import (
    ModelVersionError,
    artifact_open,
    bot_action_secret_rotate,
    model_version_promote,
    model_version_rollback,
    training_job_request,
)
from ..services.registry import EVALUATION_PLOT, REJECTION_PLOT
from .interchange import BotInterchangeAdminMixin
from .training import training_decision_text


class TrainingExampleInline(admin.TabularInline):
    model = TrainingExample
    extra = 1


class ResponseInline(admin.TabularInline):
    model = Response
    fields = ("language", "text", "context", "buttons")
    extra = 1


class SlotInline(admin.TabularInline):
    model = Slot
    fields = ("order", "name", "entity", "required", "prompts")
    extra = 0


class IntentContextInline(admin.TabularInline):
    model = IntentContext
    fields = ("direction", "name", "lifespan_turns", "lifespan_minutes")
    extra = 0


class EntityValueInline(admin.TabularInline):
    model = EntityValue
    fields = ("value", "synonyms", "language")
    extra = 1


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ("name", "bot", "kind", "pattern")
    list_filter = ("bot", "kind")
    search_fields = ("name", "values__value")
    inlines = [EntityValueInline]


@admin.register(Bot)
class BotAdmin(BotInterchangeAdminMixin, admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "languages",
        "confidence_threshold",
        "retrain_nightly",
        "created_at",
        "operator_pages",
    )
    search_fields = ("slug", "name")
    list_filter = ("retrain_nightly",)
    exclude = ("action_secret",)
    readonly_fields = ("action_secret_shown", "operator_pages")
    actions = ["train", "train_and_promote", "train_and_promote_if_not_worse", "roll_back", "rotate_action_secret"]

    @admin.display(description="action secret")
    def action_secret_shown(self, obj: Bot) -> str:
        """Masked, like an API key: the secret is shown in full only once, when it is made (docs/actions.md)."""
        if obj.pk is None:
            return "Made when the bot is saved, and shown once on the next page."
        return f"Set, ending in …{obj.action_secret[-4:]}. Shown once when made; rotate it to get a new one."

    def save_model(self, request: HttpRequest, obj: Bot, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            request._action_secrets_made = [(obj, obj.action_secret)]  # made by the field's default; this request only

    def response_add(self, request: HttpRequest, obj: Bot, post_url_continue: str | None = None) -> HttpResponse:
        return self._action_secrets_page(request, request._action_secrets_made, "Bot created")

    @admin.action(description="Rotate the action secret (the new one is shown once and signs calls at once)")
    def rotate_action_secret(self, request: HttpRequest, queryset) -> HttpResponse:
        made = [(bot, bot_action_secret_rotate(bot=bot)) for bot in queryset]
        return self._action_secrets_page(request, made, "Action secret rotated")

    def _action_secrets_page(self, request: HttpRequest, made: list[tuple[Bot, str]], title: str) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "made": made, "opts": self.model._meta, "title": title}
        return TemplateResponse(request, "admin/intents/bot/action_secret.html", context)

    @admin.display(description="operators")
    def operator_pages(self, obj: Bot) -> str:
        """Links to the bot's inbox and dashboard (conversations' admin pages, reached by URL name only)."""
        if obj.pk is None:
            return "–"
        inbox = reverse("admin:conversations_inboxmessage_changelist")
        analytics = reverse("admin:conversations_botanalytics_changelist")
        return format_html("<a href='{}?bot={}'>Inbox</a> · <a href='{}?bot={}'>Analytics</a>", inbox, obj.pk,
                           analytics, obj.pk)  # fmt: skip

    @admin.action(description="Train a new model version (candidate)")
    def train(self, request, queryset) -> None:
        self._train(request, queryset, TrainingJob.Promotion.NEVER)

    @admin.action(description="Train a new model version and make it production")
    def train_and_promote(self, request, queryset) -> None:
        self._train(request, queryset, TrainingJob.Promotion.ALWAYS)

    @admin.action(description="Train a new model version; make it production if not less accurate")
    def train_and_promote_if_not_worse(self, request, queryset) -> None:
        self._train(request, queryset, TrainingJob.Promotion.IF_NOT_WORSE)

    def _train(self, request, queryset, promotion: str) -> None:
        for bot in queryset:
            job = training_job_request(bot=bot, requested_by_id=request.user.pk, promotion=promotion)
            self.message_user(request, f"Queued training job #{job.pk} for {bot.slug}; follow it under Training jobs.")

    @admin.action(description="Roll back to the previous production version")
    def roll_back(self, request, queryset) -> None:
        for bot in queryset:
            try:
                version = model_version_rollback(bot=bot)
            except ModelVersionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{bot.slug}: now serving {version}.")


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("name", "bot", "active", "example_count")
    list_filter = ("bot", "active")
    search_fields = ("name", "description", "examples__text")
    inlines = [TrainingExampleInline, SlotInline, IntentContextInline, ResponseInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bot").annotate(n_examples=Count("examples"))

    @admin.display(description="examples", ordering="n_examples")
    def example_count(self, obj: Intent) -> int:
        return obj.n_examples


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("bot", "version", "stage", "accuracy", "encoder", "created_at", "promoted_at", "trained_by")
    list_filter = ("bot", "stage")
    readonly_fields = [
        field.name for field in ModelVersion._meta.fields if field.name not in ("evaluation", "example_digests")
    ] + ["training_decision", "examples_changed", "report"]
    exclude = ("evaluation", "example_digests")
    actions = ["promote"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("example_digests")  # up to hundreds of kB a row

    @admin.action(description="Make production (promote, or roll back to this version)")
    def promote(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        try:
            version = model_version_promote(version=queryset.get())
        except ModelVersionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Now serving {version}.")

    @admin.display(description="accuracy (CV)")
    def accuracy(self, obj: ModelVersion) -> str:
        value = (obj.evaluation or {}).get("accuracy")
        return "–" if value is None else f"{value:.1f} %"

    @admin.display(description="training decision")
    def training_decision(self, obj: ModelVersion) -> str:
        return training_decision_text(training_job_for_version(version=obj)) or "–"

    @admin.display(description="examples since the previous version")
    def examples_changed(self, obj: ModelVersion) -> str:
        changes = model_version_example_changes(version=obj)
        if changes is None:
            return "– (no earlier version with recorded examples)"
        return f"{changes.added} added, {changes.removed} removed since v{changes.previous}"

    @admin.display(description="evaluation report")
    def report(self, obj: ModelVersion) -> str:
        evaluation = obj.evaluation or {}
        if "accuracy" not in evaluation:
            return evaluation.get("skipped", "not evaluated")
        per_language = ", ".join(f"{k}: {v:.1f} %" for k, v in evaluation.get("per_language", {}).items())
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((name, s["precision"], s["recall"], s["f1"], s["support"])
             for name, s in evaluation["per_intent"].items()),
        )  # fmt: skip
        plot = reverse("admin:intents_modelversion_plot", args=[obj.pk, EVALUATION_PLOT])
        return format_html(
            "<p>{}: accuracy {} %, macro-F1 {} %; per language: {}</p><img src='{}' alt='confusion matrix' "
            "style='max-width:720px'>{}<table><tr><th>intent</th><th>precision</th><th>recall</th><th>F1</th>"
            "<th>support</th></tr>{}</table>",
            evaluation["method"], evaluation["accuracy"], evaluation["macro_f1"], per_language, plot,
            self._rejection_report(obj, evaluation.get("out_of_scope") or {}), rows,
        )  # fmt: skip

    def _rejection_report(self, obj: ModelVersion, rejection: dict) -> str:
        if "recall" not in rejection:
            return format_html("<p>Out of scope: {}</p>", rejection.get("skipped", "not measured for this version"))
        percent = lambda value: "–" if value is None else f"{value:.1f} %"  # noqa: E731
        return format_html(
            "<p>Out of scope at the threshold {} ({}; {} in-scope and {} out-of-scope held-out examples): "
            "precision {}, recall {}, in-scope accuracy {}</p><img src='{}' alt='out-of-scope precision and recall "
            "against the threshold' style='max-width:720px'>",
            rejection["threshold"], rejection["method"], rejection["n_in_scope"], rejection["n_out_of_scope"],
            percent(rejection["precision"]), percent(rejection["recall"]), percent(rejection["in_scope_accuracy"]),
            reverse("admin:intents_modelversion_plot", args=[obj.pk, REJECTION_PLOT]),
        )  # fmt: skip

    def get_urls(self):
        plot = re_path(
            r"^(?P<pk>\d+)/(?P<name>evaluation\.png|rejection\.png)$", self.admin_site.admin_view(self.plot_view),
            name="intents_modelversion_plot",
        )  # fmt: skip
        return [plot, *super().get_urls()]

    def plot_view(self, request, pk: str, name: str) -> FileResponse:
        if not self.has_view_permission(request):
            raise Http404
        version = get_object_or_404(ModelVersion, pk=pk)
        try:
            plot = artifact_open(artifact_path=version.artifact_path, name=name)
        except FileNotFoundError:
            raise Http404(f"This version has no {name}.") from None
        return FileResponse(plot, content_type="image/png")
