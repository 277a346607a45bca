"""Writes for visitors, conversations and messages. Import from here: the modules are an implementation detail."""

from .actions import ActionCall, action_call_for, action_run, dialogue_step_acting
from .answers import answer_enqueue, messages_answer_batch
from .errors import ConversationClosed, MessageRejected, QueueBusy
from .handoff import agent_message_send, handoff_release, handoff_request, handoff_take
from .messages import message_receive, messages_requeue_stale
from .nlu import OUT_OF_SCOPE_INTENT, Parsed, text_parse
from .privacy import Deletion, conversations_purge_expired, visitor_data_delete
from .publish import reply_publish
from .replies import Answered, Classified, replies_store
from .review import Reviewed, ReviewRejected, messages_review
from .rules import message_validate, text_validate
from .sessions import (
    Session,
    conversation_close,
    conversations_close_idle,
    session_open,
    visitor_resolve,
)
from .stateless import StatelessTurn, turn_stateless

__all__ = [
    "ActionCall",
    "Answered",
    "Classified",
    "ConversationClosed",
    "Deletion",
    "MessageRejected",
    "QueueBusy",
    "ReviewRejected",
    "Reviewed",
    "Session",
    "action_call_for",
    "action_run",
    "OUT_OF_SCOPE_INTENT",
    "Parsed",
    "Session",
    "StatelessTurn",
    "agent_message_send",
    "answer_enqueue",
    "conversation_close",
    "conversations_close_idle",
    "conversations_purge_expired",
    "dialogue_step_acting",
    "handoff_release",
    "handoff_request",
    "handoff_take",
    "messages_answer_batch",
    "message_receive",
    "message_validate",
    "messages_requeue_stale",
    "messages_review",
    "replies_store",
    "reply_publish",
    "session_open",
    "text_parse",
    "text_validate",
    "turn_stateless",
    "visitor_data_delete",
    "visitor_resolve",
]
