from django.contrib import admin

from .models import Conversation, Message, Visitor


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("seq", "role", "text", "intent", "confidence", "language", "status", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only transcripts: support staff read conversations, they do not rewrite them."""

    list_display = ("id", "bot", "visitor", "language", "status", "last_seq", "updated_at")
    list_filter = ("bot", "status", "language")
    search_fields = ("id", "messages__text")
    readonly_fields = ("id", "bot", "visitor", "language", "state", "status", "last_seq", "created_at", "updated_at")
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created_at")
    readonly_fields = ("id", "user", "created_at")
