from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from ..models import ApiKey
from ..services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown in full once, on the page after “Save”; only their prefix stays visible."""

    list_display = ("name", "bot", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("bot",)
    search_fields = ("name", "prefix")
    fields = ("bot", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        return self.readonly_fields + (("bot",) if obj is not None else ())

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw = api_key_create(bot=obj.bot, name=obj.name, created_by_id=request.user.pk)
        obj.__dict__.update({name: value for name, value in key.__dict__.items() if name != "_state"})
        obj._state.adding, obj._state.db = False, key._state.db
        request._api_key_created = raw  # for response_add, on this request only: the key is stored nowhere

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "key": obj, "raw": request._api_key_created,
                   "opts": self.model._meta, "title": "API key created"}  # fmt: skip
        return TemplateResponse(request, "admin/intents/apikey/created.html", context)

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke(self, request: HttpRequest, queryset) -> None:
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
