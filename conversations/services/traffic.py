"""Synthetic traffic for the operators' dashboard and its benchmark: a million messages in about a minute.

Everything is generated inside PostgreSQL (`generate_series`, `INSERT … SELECT`): no row passes through Python.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from intents.models import Bot, ModelVersion, TrainingExample

from ..models import Conversation, Message, Visitor

# Share of user messages per outcome; the rest are answered.
OUTCOME_SHARES = {
    Message.Outcome.FALLBACK: 0.08,
    Message.Outcome.OUT_OF_SCOPE: 0.05,
    Message.Outcome.HANDOFF: 0.02,
}
TURNS_PER_CONVERSATION = 4  # user messages; each has one bot reply, so 8 messages a conversation


@dataclass(frozen=True)
class Generated:
    conversations: int
    messages: int


def traffic_generate(*, bot: Bot, messages: int, days: int = 60, seed: float = 0.42) -> Generated:
    """Add about `messages` messages (half visitors', half the bot's replies) to `bot`, in closed conversations
    spread over the last `days` days: each visitor's message one of the bot's examples (text, intent and
    language), with the outcome shares above, stored answer timings and, when the bot has model versions, the
    version of its day (older versions on older days). Not idempotent: each run adds more."""
    conversations = max(1, messages // (2 * TURNS_PER_CONVERSATION))
    examples = list(
        TrainingExample.objects.filter(intent__bot=bot, intent__active=True)
        .values_list("text", "intent__name", "language")
    )
    if not examples:
        raise ValueError(f"Bot '{bot.slug}' has no training examples to draw texts from.")
    versions = list(ModelVersion.objects.filter(bot=bot).order_by("version").values_list("pk", flat=True))
    texts, intents, example_languages = (list(column) for column in zip(*examples))
    params = {
        "bot": bot.pk, "n": conversations, "days": days, "turns": TURNS_PER_CONVERSATION,
        "languages": bot.languages or ["en"], "texts": texts, "intents": intents,
        "example_languages": example_languages, "versions": versions or [None],
        "fallback": OUTCOME_SHARES[Message.Outcome.FALLBACK], "oos": OUTCOME_SHARES[Message.Outcome.OUT_OF_SCOPE],
        "handoff": OUTCOME_SHARES[Message.Outcome.HANDOFF],
    }  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(_SQL.format(visitor=Visitor._meta.db_table, conversation=Conversation._meta.db_table,
                                   message=Message._meta.db_table), params)  # fmt: skip
    return Generated(conversations=conversations, messages=conversations * 2 * TURNS_PER_CONVERSATION)


# One statement: CTEs write visitors, conversations, user messages and replies; each user message draws its
# outcome (u), example (e) and latency (l) once, in `turns`.
_SQL = """
WITH conv AS (
    SELECT gen_random_uuid() AS id, gen_random_uuid() AS visitor,
           now() - interval '1 hour' - (random() * %(days)s) * interval '1 day' AS started,
           (%(languages)s::text[])[1 + floor(random() * cardinality(%(languages)s::text[]))::int] AS language
    FROM generate_series(1, %(n)s)
), visitors AS (
    INSERT INTO {visitor} (id, created_at) SELECT visitor, started FROM conv
), conversations AS (
    INSERT INTO {conversation} (id, bot_id, visitor_id, language, state, status, last_seq, handoff, created_at,
                                updated_at, closed_at)
    SELECT id, %(bot)s, visitor, language, '{{}}', 'closed', 2 * %(turns)s, 'none', started,
           started + interval '5 minutes', started + interval '35 minutes'
    FROM conv
), turns AS (
    SELECT conv.id AS conversation, conv.language, t AS turn,
           conv.started + (t - 1) * interval '40 seconds' AS at, random() AS u,
           1 + floor(random() * cardinality(%(texts)s::text[]))::int AS e, 0.05 + 2.5 * power(random(), 4) AS l,
           %(versions)s::int[] AS versions
    FROM conv, generate_series(1, %(turns)s) AS t
), users AS (
    INSERT INTO {message} (conversation_id, bot_id, seq, role, text, language, intent, confidence, ranking, buttons,
                           status, created_at, answered_at, timings, outcome, review, model_version_id)
    SELECT conversation, %(bot)s, 2 * turn - 1, 'user', (%(texts)s::text[])[e], (%(example_languages)s::text[])[e],
           (%(intents)s::text[])[e],
           CASE WHEN u < %(fallback)s + %(oos)s THEN 0.1 + 0.35 * random() ELSE 0.5 + 0.49 * random() END,
           '[]', '[]', 'answered', at, at + l * interval '1 second',
           jsonb_build_object('received', extract(epoch FROM at), 'stored', extract(epoch FROM at) + 0.003,
                              'answer_stored', extract(epoch FROM at) + l),
           CASE WHEN u < %(fallback)s THEN 'fallback' WHEN u < %(fallback)s + %(oos)s THEN 'out_of_scope'
                WHEN u < %(fallback)s + %(oos)s + %(handoff)s THEN 'handoff' ELSE 'answered' END,
           '',
           versions[1 + floor(cardinality(versions) * (1 - extract(epoch FROM now() - at) / (86400.0 * %(days)s
                                                              + 1)))::int]
    FROM turns
    RETURNING id, conversation_id, seq, language, intent, outcome, created_at, answered_at, model_version_id
)
INSERT INTO {message} (conversation_id, bot_id, seq, role, text, language, intent, confidence, ranking, buttons,
                       status, created_at, answered_at, timings, outcome, review, reply_to_id, model_version_id)
SELECT conversation_id, %(bot)s, seq + 1, 'bot', 'Generated answer.', language,
       CASE WHEN outcome IN ('fallback', 'out_of_scope') THEN 'fallback' ELSE intent END,
       NULL, '[]', '[]', 'sent', answered_at, answered_at, '{{}}', '', '', id, model_version_id
FROM users
"""
