"""The operators' inbox: a reviewed user message teaches the bot (an example), or is set aside, and leaves the inbox."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from intents.models import Bot, Intent
from intents.services import ExampleRejected, out_of_scope_intent_get, training_example_add

from ..models import Conversation, Message


class ReviewRejected(ValueError):
    """A review that cannot be applied as asked; nothing was changed."""


@dataclass(frozen=True)
class Reviewed:
    reviewed: int  # messages that left the inbox now
    already: int  # messages someone had reviewed meanwhile, left as they were


@transaction.atomic
def messages_review(
    *, message_ids: Sequence[int], action: str, reviewer_id: int | None, intent: Intent | None = None
) -> Reviewed:
    """Review user messages as one decision, all or nothing.

    `example`: each message becomes a training example of `intent` (which must be one of the message's bot's
    intents) in the message's language; `out_of_scope`: an example of its bot's `out_of_scope` intent (created
    on first use); `ignored`: nothing but the review. Each message records the action, the example, who and
    when, and leaves the inbox; the bot's next training uses the new examples. Runs inside the messages' row
    locks, so two operators reviewing the same message review it once (the later one counts it as `already`).
    """
    if action not in Message.Review.values:
        raise ReviewRejected(f"Unknown review action '{action}' (known: {', '.join(Message.Review.values)}).")
    if action == Message.Review.EXAMPLE and intent is None:
        raise ReviewRejected("Choose the intent the messages are examples of.")
    messages = list(
        Message.objects.select_for_update(of=("self",))
        .filter(pk__in=message_ids, role=Message.Role.USER)
        .select_related("conversation__bot")
        .order_by("pk")
    )
    if len(messages) != len(set(message_ids)):
        raise ReviewRejected("Only visitors' messages that exist can be reviewed.")
    pending = [message for message in messages if message.reviewed_at is None]
    now = timezone.now()
    for message in pending:
        message.review, message.reviewed_by_id, message.reviewed_at = action, reviewer_id, now
        if action != Message.Review.IGNORED:
            message.review_example = _example_for(message, action=action, intent=intent)
    Message.objects.bulk_update(pending, ["review", "review_example", "reviewed_by", "reviewed_at"])
    return Reviewed(reviewed=len(pending), already=len(messages) - len(pending))


def _example_for(message: Message, *, action: str, intent: Intent | None):
    bot = message.conversation.bot
    if action == Message.Review.OUT_OF_SCOPE:
        intent = out_of_scope_intent_get(bot=bot)
    elif intent.bot_id != bot.pk:
        raise ReviewRejected(f"Intent '{intent.name}' is not one of bot '{bot.slug}''s intents (message {message.pk}).")
    try:
        return training_example_add(intent=intent, text=message.text, language=_language(message, bot))
    except ExampleRejected as exc:
        raise ReviewRejected(f"Message {message.pk}: {exc}") from exc


def _language(message: Message, bot: Bot) -> str:
    """The language the classifier detected; a quick-reply payload has none, so the conversation's."""
    conversation: Conversation = message.conversation
    return message.language or conversation.language or bot.default_language
