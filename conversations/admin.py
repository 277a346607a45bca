from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import Conversation, Message, Visitor
from .operators import admin as operators_admin  # noqa: F401  registers the inbox and the analytics pages


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("seq", "role", "text", "intent", "confidence", "language", "status", "agent", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only transcripts: support staff read conversations, they do not rewrite them."""

    list_display = ("id", "bot", "visitor", "language", "status", "handoff", "agent", "last_seq", "updated_at")
    list_filter = ("bot", "status", "handoff", "language")
    search_fields = ("id", "messages__text")
    readonly_fields = (
        "id", "bot", "visitor", "language", "state", "status", "handoff", "agent", "last_seq", "created_at",
        "updated_at", "closed_at",
    )
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at")
    readonly_fields = ("id", "user", "created_at")
    search_fields = ("id", "conversations__id", "user__username")
    actions = ["delete_visitor_data"]

    @admin.action(description="Delete visitor data (conversations, messages)", permissions=["delete"])
    def delete_visitor_data(self, request: HttpRequest, queryset: QuerySet[Visitor]) -> None:
        deleted = [services.visitor_data_delete(visitor_id=pk) for pk in queryset.values_list("pk", flat=True)]
        self.message_user(
            request,
            f"Deleted {len(deleted)} visitors, {sum(d.conversations for d in deleted)} conversations and "
            f"{sum(d.messages for d in deleted)} messages.",
            messages.SUCCESS,
        )
