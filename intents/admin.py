from django.contrib import admin

from .models import Bot, Intent, ModelVersion, Response, TrainingExample


class TrainingExampleInline(admin.TabularInline):
    model = TrainingExample
    extra = 1


class ResponseInline(admin.TabularInline):
    model = Response
    extra = 1


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "languages", "confidence_threshold", "created_at")
    search_fields = ("slug", "name")


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("name", "bot", "active", "example_count")
    list_filter = ("bot", "active")
    search_fields = ("name", "description", "examples__text")
    inlines = [TrainingExampleInline, ResponseInline]

    @admin.display(description="examples")
    def example_count(self, obj: Intent) -> int:
        return obj.examples.count()


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("bot", "version", "stage", "encoder", "created_at", "trained_by")
    list_filter = ("bot", "stage")
    readonly_fields = [field.name for field in ModelVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
