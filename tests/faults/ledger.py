"""The fault suite's one check: nothing lost, duplicated or answered out of order.

It reads every message of the tabs' conversations from PostgreSQL (plain SQL over a connection string, so it
reads a test's own cluster as well as the test database) and compares with what each tab sent and received:

- every message a tab sent is stored once, with the seq its acks named;
- every stored user message is answered exactly once (one bot message with its `reply_to`), and not pending;
- every tab holds every answer of its conversation (live or through `resume`), as stored;
- on every socket, answers arrive in seq order: a pushed answer carries a higher seq than anything the socket
  received before, or one it already received (a push after a `resume` replayed it, which the protocol allows
  and the widget drops by seq).
"""

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

import psycopg

from .visitor import Tab


@dataclass
class Tally:
    sent: int = 0  # distinct messages the tabs sent (a resend of the same client_id counts once)
    stored: int = 0  # of those, stored in PostgreSQL
    lost: int = 0  # sent and acknowledged, not stored; or stored and never answered
    stored_twice: int = 0
    answered: int = 0  # stored user messages with exactly one answer
    answered_twice: int = 0
    ack_mismatch: int = 0  # an ack named another seq than the stored one
    undelivered: int = 0  # (tab, answer) pairs: an answer a tab never received
    out_of_order: int = 0  # answers a socket received after a later one
    replayed: int = 0  # (tab, answer) pairs first received through `resume`, not pushed
    refused: int = 0  # error frames the tabs received

    def line(self, scenario: str, **figures) -> str:
        extra = " ".join(f"{key}={value}" for key, value in figures.items())
        return f"FAULTS {scenario}: " + " ".join(f"{key}={value}" for key, value in asdict(self).items()) + f" {extra}"

    def assert_nothing_lost(self) -> None:
        keys = ("lost", "stored_twice", "answered_twice", "ack_mismatch", "undelivered", "out_of_order")
        faults = {key: getattr(self, key) for key in keys}
        assert not any(faults.values()), faults
        assert self.stored == self.sent == self.answered, asdict(self)


def stored_messages(dsn: str, conversations: set[str]) -> list[tuple]:
    """(conversation, seq, role, client_id, reply_to seq, status) of every message of the conversations."""
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT m.conversation_id::text, m.seq, m.role, m.client_id, r.seq, m.status"
            " FROM conversations_message m LEFT JOIN conversations_message r ON r.id = m.reply_to_id"
            " WHERE m.conversation_id::text = ANY(%s) ORDER BY m.conversation_id, m.seq",
            [sorted(conversations)],
        ).fetchall()


def tally(dsn: str, tabs: list[Tab]) -> Tally:
    rows = stored_messages(dsn, {tab.conversation for tab in tabs})
    result = Tally(refused=sum(len(tab.errors) for tab in tabs))
    users = {(row[0], row[3]): row for row in rows if row[2] == "user"}
    stored_ids = Counter((row[0], row[3]) for row in rows if row[2] == "user")
    replies = defaultdict(list)
    for conversation, seq, role, _, reply_to, _ in rows:
        if role == "bot":
            replies[(conversation, reply_to)].append(seq)
    sent = {(tab.conversation, client_id) for tab in tabs for client_id in tab.sent}
    result.sent = len(sent)
    for key in sent:
        row = users.get(key)
        result.stored += row is not None
        result.stored_twice += stored_ids[key] > 1
        if row is None:
            result.lost += any(key[1] in tab.acks for tab in tabs)
            continue
        answers = replies[(key[0], row[1])]
        result.answered += len(answers) == 1 and row[5] == "answered"
        result.answered_twice += len(answers) > 1
        result.lost += not answers
        result.ack_mismatch += any(seq != row[1] for tab in tabs for seq in tab.acks.get(key[1], []))
    bot_rows = [row for row in rows if row[2] == "bot"]
    for tab in tabs:
        mine = [row for row in bot_rows if row[0] == tab.conversation]
        result.undelivered += sum(row[1] not in tab.bot or tab.bot[row[1]]["reply_to"] != row[4] for row in mine)
        pushed = {seq for socket in tab.sockets for kind, seq in socket.messages if kind == "live"}
        result.replayed += sum(row[1] not in pushed for row in mine)
        result.out_of_order += sum(_out_of_order(socket.messages) for socket in tab.sockets)
    return result


def _out_of_order(messages: list[tuple[str, int]]) -> int:
    highest, seen, late = 0, set(), 0
    for kind, seq in messages:
        if kind == "live" and seq not in seen and seq < highest:
            late += 1
        seen.add(seq)
        highest = max(highest, seq)
    return late
