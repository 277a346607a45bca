import secrets
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

# An intent's action: a relative path appended to the bot's action base URL (no "..", no scheme, no query).
ACTION_NAME = r"^([\w-]+(\.[\w-]+)*)(/[\w-]+(\.[\w-]+)*)*$|^$"


def texts_by_language_validator(value: object) -> None:
    """{"en": ["…", …], "es": [...]}: a list of non-empty texts per language, one of them picked at random."""
    if not isinstance(value, dict) or not all(
        isinstance(texts, list) and all(isinstance(text, str) and text.strip() for text in texts)
        for texts in value.values()
    ):
        raise ValidationError('Expected non-empty texts by language: {"en": ["…"], "es": ["…"]}.')


def action_secret_new() -> str:
    """A random action secret: a bot is never without one, so no action call is signed with an empty key."""
    return secrets.token_urlsafe(32)


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class Bot(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    languages = models.JSONField(
        default=list, help_text='Language codes the bot speaks, first is the default: ["en", "es"].'
    )
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text='Origins allowed to embed the bot, e.g. ["https://shop.example.com"].'
    )
    confidence_threshold = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Below this confidence the bot answers with a fallback instead of guessing.",
    )
    fallback_responses = models.JSONField(
        default=dict, blank=True, help_text='Fallback answers by language: {"en": ["Sorry…"], "es": ["Perdona…"]}.'
    )
    action_url = models.URLField(
        "action base URL", max_length=500, blank=True,
        help_text="Your backend's actions endpoint, e.g. https://shop.example.com/charla/actions/; an intent's "
        "action name is appended. Blank: no action is called and intents answer with their responses.",
    )
    action_secret = models.CharField(
        max_length=200, default=action_secret_new,
        help_text="Shared secret: each action call is signed with HMAC-SHA256 under it (docs/actions.md).",
    )
    action_timeout = models.FloatField(
        "action timeout (seconds)", default=5.0, validators=[MinValueValidator(0.1), MaxValueValidator(30.0)],
        help_text="A backend that has not answered by then gets the action failure response.",
    )
    action_failure_responses = models.JSONField(
        default=dict, blank=True, validators=[texts_by_language_validator],
        help_text='Said when an action fails (backend down, slow, error, bad answer), by language: {"en": ["…"]}.',
    )
    retrain_nightly = models.BooleanField(
        default=False,
        help_text="Every night, if its examples changed since the last trained version, train a candidate and make "
        "it production only if its cross-validated accuracy is not lower than production's.",
    )
    tune_encoder = models.BooleanField(
        "fine-tune the encoder", default=False,
        help_text="Train the sentence encoder on this bot's examples before its classifier (contrastive, "
        "SetFit-style). Meant for a training worker with a GPU: on a CPU, training takes minutes instead of seconds.",
    )  # fmt: skip
    dialogue_revision = models.UUIDField(
        default=uuid.uuid4,
        editable=False,
        help_text="Changes whenever the bot's intents, responses, slots, contexts or entities change: "
        "workers cache the dialogue settings per revision.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence_threshold__gte=0) & Q(confidence_threshold__lte=1),
                name="bot_threshold_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(action_timeout__gte=0.1) & Q(action_timeout__lte=30), name="bot_action_timeout_in_range"
            ),
            models.CheckConstraint(condition=~Q(action_secret=""), name="bot_action_secret_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else Language.ENGLISH


class Intent(models.Model):
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="intents")
    name = models.SlugField(max_length=100, help_text="Slug name, e.g. order_status.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    action = models.CharField(
        max_length=200, blank=True, validators=[RegexValidator(ACTION_NAME, "Letters, digits, _ - . and /.")],
        help_text="Called when the dialogue reaches this intent (its form completed): the bot's action base URL "
        "+ this path, e.g. book_table. Blank: the intent answers with its responses.",
    )

    class Meta:
        ordering = ["bot", "name"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "name"], name="intent_unique_name_per_bot"),
            models.CheckConstraint(condition=Q(action__regex=ACTION_NAME), name="intent_action_is_a_path"),
        ]

    def __str__(self) -> str:
        return f"{self.bot.slug}:{self.name}"


class TrainingExample(models.Model):
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="examples")
    text = models.CharField(max_length=500)
    language = models.CharField(max_length=8, choices=Language.choices)

    class Meta:
        ordering = ["intent", "language", "id"]
        constraints = [
            models.UniqueConstraint(fields=["intent", "language", "text"], name="example_unique_per_intent")
        ]

    def __str__(self) -> str:
        return self.text


class Response(models.Model):
    intent = models.ForeignKey(Intent, on_delete=models.CASCADE, related_name="responses")
    text = models.TextField(help_text="May name the intent's slots: {people}. Slot values are escaped.")
    language = models.CharField(max_length=8, choices=Language.choices)
    context = models.SlugField(
        max_length=100, blank=True, help_text="Only used while this context is active; blank: the default answer."
    )
    buttons = models.JSONField(
        default=list, blank=True,
        help_text='Quick replies: [{"title": "Book a table", "payload": "/book_table"}]; the payload is sent as the '
        "next user turn.",
    )

    class Meta:
        ordering = ["intent", "language", "id"]

    def __str__(self) -> str:
        return self.text[:60]
