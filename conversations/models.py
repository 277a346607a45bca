import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from intents.models import Bot


class Visitor(models.Model):
    """Who is talking: a logged-in user, or an anonymous browser holding a signed token."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="chat_visitor"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.user) if self.user_id else f"anonymous {str(self.id)[:8]}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    language = models.CharField(max_length=8)
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_seq = models.PositiveIntegerField(default=0, help_text="Highest seq handed out; seqs are gapless.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "visitor"], condition=Q(status="active"), name="one_active_conversation_per_bot"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug} · {self.visitor} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def group_name(self) -> str:
        return f"chat.{self.id.hex}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Visitor"
        BOT = "bot", "Bot"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ANSWERED = "answered", "Answered"
        SENT = "sent", "Sent"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=Role.choices)
    text = models.TextField()
    client_id = models.CharField(max_length=100, null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    ranking = models.JSONField(default=list, blank=True)
    model_version = models.ForeignKey(
        "intents.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reply"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique_per_conversation"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique_per_conversation",
            ),
            models.CheckConstraint(
                condition=Q(role="user", reply_to__isnull=True) | Q(role="bot", reply_to__isnull=False),
                name="message_only_bot_replies",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.role}: {self.text[:50]}"
