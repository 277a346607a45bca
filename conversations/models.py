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
    # A REST channel client's `sender` (Rasa's conversation id), unique per bot: the same sender is the same visitor.
    bot = models.ForeignKey(Bot, null=True, blank=True, on_delete=models.CASCADE, related_name="senders")
    sender = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "sender"], condition=Q(sender__isnull=False), name="visitor_sender_unique_per_bot"
            ),
            models.CheckConstraint(
                condition=Q(sender__isnull=True) | Q(bot__isnull=False, user__isnull=True),
                name="visitor_sender_has_bot",
            ),
        ]

    def __str__(self) -> str:
        if self.sender is not None:
            return f"sender {self.sender}"
        return str(self.user) if self.user_id else f"anonymous {str(self.id)[:8]}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class Handoff(models.TextChoices):
        NONE = "none", "Bot"
        REQUESTED = "requested", "Waiting for a person"
        ACTIVE = "active", "With a person"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    language = models.CharField(max_length=8)
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    last_seq = models.PositiveIntegerField(default=0, help_text="Highest seq handed out; seqs are gapless.")
    handoff = models.CharField(max_length=16, choices=Handoff.choices, default=Handoff.NONE)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff member who took the conversation over.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "visitor"], condition=Q(status="active"), name="one_active_conversation_per_bot"
            ),
            models.CheckConstraint(
                condition=Q(handoff="active", agent__isnull=False) | ~Q(handoff="active"),
                name="conversation_handoff_has_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["handoff"], condition=~Q(handoff="none"), name="conversation_handoff_open"),
            models.Index(fields=["bot", "created_at"], name="conversation_bot_created"),  # the dashboard's per day
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug} · {self.visitor} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def group_name(self) -> str:
        return f"chat.{self.id.hex}"

    @property
    def console_group_name(self) -> str:
        """Staff sockets watching this conversation in the console."""
        return f"console.{self.id.hex}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Visitor"
        BOT = "bot", "Bot"
        AGENT = "agent", "Staff member"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ANSWERED = "answered", "Answered"
        SENT = "sent", "Sent"
        HANDED_OFF = "handed_off", "Left to a person"

    class Outcome(models.TextChoices):
        """What the bot made of a user message (blank: not answered by the bot yet, or left to a person)."""

        ANSWERED = "answered", "Answered"
        FALLBACK = "fallback", "Fell back"
        OUT_OF_SCOPE = "out_of_scope", "Out of scope"
        HANDOFF = "handoff", "Led to a handoff"

    class Review(models.TextChoices):
        EXAMPLE = "example", "Added as an example"
        OUT_OF_SCOPE = "out_of_scope", "Marked out of scope"
        IGNORED = "ignored", "Ignored"

    # No index of its own: message_seq_unique_per_conversation (conversation, seq) serves every lookup by conversation.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    bot = models.ForeignKey(
        Bot, null=True, on_delete=models.CASCADE, related_name="+", db_index=False,
        help_text="The conversation's bot, kept on each message so that the operators' inbox and dashboard read "
        "messages without joining conversations (indexed by message_user_stats).",
    )
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
    buttons = models.JSONField(default=list, blank=True, help_text="Quick replies offered with a bot message.")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # indexed by message_agent_set
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(
        default=dict, blank=True, help_text="Unix times of the stages a user message went through (bench/)."
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    review = models.CharField(max_length=16, choices=Review.choices, blank=True)
    review_example = models.ForeignKey(
        "intents.TrainingExample", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The training example this message became.", db_index=False,
    )  # indexed by message_review_example_set
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # indexed by message_reviewed_by_set
    reviewed_at = models.DateTimeField(null=True, blank=True)

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
                condition=Q(role__in=["user", "agent"], reply_to__isnull=True) | Q(role="bot", reply_to__isnull=False),
                name="message_only_bot_replies",
            ),
        ]
        indexes = [
            # The sweep (conversations.tasks.messages_requeue_stale) looks for old pending messages.
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="message_pending_since"),
            # Answering looks for a conversation's unanswered turns: without this index, a backlog of pending
            # messages elsewhere (workers down) made PostgreSQL scan all of them for every answer.
            models.Index(fields=["conversation", "seq"], condition=Q(status="pending"), name="message_pending_turns"),
            # The operators' inbox and dashboard read a bot's user messages by date from this index alone (an
            # index-only scan): a join with conversations or heap reads made the dashboard take seconds on 1M rows.
            models.Index(
                fields=["bot", "created_at"], condition=Q(role="user"), name="message_user_stats",
                include=["outcome", "confidence", "intent", "language", "model_version", "answered_at", "reviewed_at"],
            ),
            # The foreign keys that are NULL on almost every message, indexed only where set (what deleting the
            # user or example they name looks up, to set them NULL): the answer's UPDATE of the user message
            # cannot be a HOT update (it changes indexed columns), so every index with an entry for it is written
            # again at each turn, and a full index on these would hold one entry per message, each NULL.
            models.Index(fields=["agent"], condition=Q(agent__isnull=False), name="message_agent_set"),
            models.Index(
                fields=["review_example"], condition=Q(review_example__isnull=False), name="message_review_example_set"
            ),
            models.Index(
                fields=["reviewed_by"], condition=Q(reviewed_by__isnull=False), name="message_reviewed_by_set"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.role}: {self.text[:50]}"


class InboxMessage(Message):
    """The operators' inbox in the admin: user messages the bot did not handle well, to review."""

    class Meta:
        proxy = True
        verbose_name = "inbox message"
        verbose_name_plural = "inbox: messages to review"


class BotAnalytics(Message):
    """The analytics dashboard's place in the admin (its page aggregates messages; it lists none)."""

    class Meta:
        proxy = True
        verbose_name = "analytics"
        verbose_name_plural = "analytics dashboard"
