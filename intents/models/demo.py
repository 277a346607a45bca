"""The demo bot's restaurant: bookings made by its `book_table` action (intents/demo/actions.py)."""

from django.db import models


class DemoBooking(models.Model):
    """A table booked through the demo action endpoint, as a customer's backend would store it."""

    reference = models.CharField(max_length=16, unique=True)
    idempotency_key = models.CharField(
        max_length=100, unique=True, help_text="Charla's Idempotency-Key: a repeated call returns this booking."
    )
    people = models.PositiveSmallIntegerField()
    when = models.DateTimeField()
    email = models.EmailField()
    language = models.CharField(max_length=8)
    conversation_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(people__gte=1), name="demo_booking_people_positive")]

    def __str__(self) -> str:
        return f"{self.reference}: {self.people} on {self.when:%Y-%m-%d %H:%M}"
