"""The operators' pages in the admin, each in place of a proxy model's list (so the admin index links them and
Django's permissions guard them): the inbox (`InboxMessage`) and the analytics dashboard (`BotAnalytics`)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from intents.classifier.prediction import OUT_OF_SCOPE_INTENT

from ..models import BotAnalytics, InboxMessage, Message
from ..services import ReviewRejected, messages_review
from .analytics import analytics_supported, bot_analytics
from .dashboard import dashboard_charts
from .forms import InboxFilterForm, RangeForm, ReviewForm
from .inbox import inbox_messages

PAGE_SIZE = 50
DONE = {
    Message.Review.EXAMPLE: "added as examples of {intent}",
    Message.Review.OUT_OF_SCOPE: "added as out-of-scope examples",
    Message.Review.IGNORED: "ignored",
}


class OperatorPage(admin.ModelAdmin):
    """A page, not a list of rows: nothing to add, change or delete one by one."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {"view": self.has_view_permission(request)}  # the index shows the page's link, no "add"

    def page(self, request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context}
        return TemplateResponse(request, template, context)


@admin.register(InboxMessage)
class InboxAdmin(OperatorPage):
    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "POST":
            return self.review_view(request)
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = InboxFilterForm(request.GET)
        rows = inbox_messages(filters=form.filters()) if form.is_valid() else Message.objects.none()
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        intents = list(form.chosen_bot.intents.filter(active=True)) if form.chosen_bot else []
        quick = {intent.name: intent.pk for intent in intents if intent.name != OUT_OF_SCOPE_INTENT}
        return self.page(
            request, "admin/conversations/inbox.html", "Inbox: messages to review", form=form, bot=form.chosen_bot,
            page_obj=page, rows=[(message, quick.get(message.intent)) for message in page], query=query.urlencode(),
            can_review=self.has_change_permission(request), intents=intents,
        )  # fmt: skip

    def review_view(self, request: HttpRequest) -> HttpResponse:
        """A bulk review or one row's button; back to the same inbox page, with what happened as a message."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ReviewForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(" ".join(e) if name == "__all__" else f"{name}: {' '.join(e)}"
                               for name, e in form.errors.items())  # fmt: skip
            self.message_user(request, f"Nothing changed: {errors}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        data = form.cleaned_data
        try:
            done = messages_review(
                message_ids=data["ids"], action=data["action"], intent=data.get("intent"), reviewer_id=request.user.pk
            )
        except ReviewRejected as exc:
            self.message_user(request, f"Nothing changed: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        what = DONE[data["action"]].format(intent=data["intent"].name if data.get("intent") else "")
        note = f" ({done.already} already reviewed by someone else)" if done.already else ""
        self.message_user(
            request, f"{done.reviewed} message{'s' if done.reviewed != 1 else ''} {what}{note}.", messages.SUCCESS
        )
        return HttpResponseRedirect(request.get_full_path())


@admin.register(BotAnalytics)
class AnalyticsAdmin(OperatorPage):
    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = RangeForm(request.GET)
        analytics = None
        if form.is_valid() and analytics_supported():
            data = form.cleaned_data
            analytics = bot_analytics(bot=data["bot"], start=data["start"], end=data["end"])
        return self.page(
            request, "admin/conversations/analytics.html", "Analytics", form=form, bot=form.chosen_bot,
            analytics=analytics, charts=dashboard_charts(analytics) if analytics else None,
            supported=analytics_supported(),
        )  # fmt: skip
