"""The operators' pages' forms: what the inbox and the dashboard accept from a query string or a post."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from intents.models import Bot, Intent, ModelVersion

from ..models import Message
from .analytics import MAX_DAYS
from .inbox import LOW_CONFIDENCE, InboxFilters

DATE = forms.DateInput(attrs={"type": "date"})
REASONS = [
    ("", "every reason"),
    (Message.Outcome.FALLBACK, "fell back"),
    (Message.Outcome.OUT_OF_SCOPE, "out of scope"),
    (Message.Outcome.HANDOFF, "led to a handoff"),
    (LOW_CONFIDENCE, "answered, low confidence"),
]


class BotForm(forms.Form):
    """A form about one bot: the bot's own choices (intents, versions, languages) fill the other fields."""

    bot = forms.ModelChoiceField(Bot.objects.all(), empty_label=None)

    def __init__(self, data, **kwargs) -> None:
        """`data`: the query string; without a bot (or with an unknown one), the first bot."""
        chosen = data.get("bot", "")
        self.chosen_bot = (Bot.objects.filter(pk=chosen).first() if chosen.isdigit() else None) or Bot.objects.first()
        data = data.copy()
        if self.chosen_bot is not None:
            data["bot"] = str(self.chosen_bot.pk)
        super().__init__(data, **kwargs)


class InboxFilterForm(BotForm):
    reason = forms.ChoiceField(choices=REASONS, required=False)
    threshold = forms.FloatField(
        min_value=0, max_value=1, required=False, label="confidence below",
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )  # fmt: skip
    language = forms.ChoiceField(required=False)
    intent = forms.ChoiceField(required=False, label="predicted intent")
    version = forms.ModelChoiceField(ModelVersion.objects.none(), required=False, label="model version")
    since = forms.DateField(required=False, widget=DATE)
    until = forms.DateField(required=False, widget=DATE)

    def __init__(self, data, **kwargs) -> None:
        super().__init__(data, **kwargs)
        bot = self.chosen_bot
        names = list(bot.intents.values_list("name", flat=True)) if bot else []
        self.fields["intent"].choices = [("", "any intent"), *((name, name) for name in names)]
        languages = bot.languages if bot else []
        self.fields["language"].choices = [("", "any language"), *((code, code) for code in languages)]
        versions = ModelVersion.objects.filter(bot=bot).select_related("bot").order_by("-version")
        self.fields["version"].queryset = versions.only("version", "stage", "bot__slug")
        self.fields["version"].empty_label = "any version"
        self.fields["threshold"].widget.attrs["placeholder"] = f"{bot.confidence_threshold:g}" if bot else ""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The first day must not be after the last.")
        return data

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        threshold = data.get("threshold")
        return InboxFilters(  # the bot's threshold as a constant: no join in the count over the whole inbox
            bot_id=data["bot"].pk, threshold=data["bot"].confidence_threshold if threshold is None else threshold,
            reason=data.get("reason") or None,
            language=data.get("language") or None, intent=data.get("intent") or None,
            model_version_id=data["version"].pk if data.get("version") else None,
            since=data.get("since"), until=data.get("until"),
        )  # fmt: skip


class ReviewForm(forms.Form):
    """A bulk review (checked `ids`, `action`, `intent`) or one row's button (`row` = "action:id")."""

    ids = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.MultipleHiddenInput)
    action = forms.ChoiceField(choices=Message.Review.choices, required=False)
    intent = forms.ModelChoiceField(Intent.objects.all(), required=False)
    row = forms.RegexField(regex=r"^(example|out_of_scope|ignored):\d{1,18}(:\d{1,18})?$", required=False)

    def __init__(self, data=None, **kwargs) -> None:
        super().__init__(data, **kwargs)
        # Any id parses here; messages_review checks that each is a visitor's message.
        self.fields["ids"].choices = [(value, value) for value in (data.getlist("ids") if data else [])]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("row"):
            action, message_id, *intent = data["row"].split(":")
            data["action"], data["ids"] = action, [int(message_id)]
            data["intent"] = Intent.objects.filter(pk=int(intent[0])).first() if intent else None
        if not data.get("ids"):
            raise forms.ValidationError("Select at least one message.")
        if not data.get("action"):
            raise forms.ValidationError("Choose what to do with the selected messages.")
        return data


class RangeForm(BotForm):
    """The dashboard's bot and date range; the last 30 days by default."""

    start = forms.DateField(required=False, widget=DATE, label="from")
    end = forms.DateField(required=False, widget=DATE, label="to")

    def __init__(self, data, **kwargs) -> None:
        if not data.get("start") and not data.get("end"):  # shown in the form, not only applied
            data = data.copy()
            today = timezone.localdate()
            data["start"], data["end"] = (today - timedelta(days=29)).isoformat(), today.isoformat()
        super().__init__(data, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=29)
        if start > end:
            raise forms.ValidationError("The first day must not be after the last.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data
