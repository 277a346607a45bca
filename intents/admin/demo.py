from django.contrib import admin

from ..models import DemoBooking


@admin.register(DemoBooking)
class DemoBookingAdmin(admin.ModelAdmin):
    """The demo restaurant's bookings, made by the demo bot's `book_table` action; read-only."""

    list_display = ("reference", "people", "when", "email", "language", "created_at")
    search_fields = ("reference", "email")
    readonly_fields = [field.name for field in DemoBooking._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
