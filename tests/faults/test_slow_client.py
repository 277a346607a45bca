"""Scenario 4: a client that reads nothing while its answers pile up.

Daphne writes a socket's frames to the kernel and keeps what the kernel does not take in its own memory, with
no limit (no backpressure reaches the consumer). The tab here gets a 4 KiB receive buffer, and the test reports
where the unread bytes were (the client's and daphne's kernel queues). What bounds the pile: a socket only gets
its conversation's messages, so the pile grows only with what the visitor itself sends; and daphne pings a socket
that sent nothing for `--ping-interval` seconds and drops it (freeing its buffer) when no pong comes within
`--ping-timeout` (docs/reliability.md).
"""

import asyncio
import time

import psycopg
import pytest

from .ledger import tally
from .visitor import TEXTS, Tab, until

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SMALL_BUFFER = 4096


def _answers_stored(dsn: str, conversation: str) -> int:
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT count(*) FROM conversations_message WHERE conversation_id::text = %s AND role = 'bot'",
            [conversation],
        ).fetchone()[0]


def _tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(send queue, receive queue) in bytes of the IPv4 TCP socket local_port -> remote_port, from
    /proc/net/tcp; None when there is no such socket (closed)."""
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        local, remote, queues = fields[1], fields[2], fields[4]
        if int(local.split(":")[1], 16) == local_port and int(remote.split(":")[1], 16) == remote_port:
            tx, rx = queues.split(":")
            return int(tx, 16), int(rx, 16)
    return None


def _ports(tab: Tab) -> tuple[int, int]:
    """(the tab's local port, the server's port) of its current socket."""
    transport = tab._socket.transport
    return transport.get_extra_info("sockname")[1], transport.get_extra_info("peername")[1]


async def _converse(tab: Tab, turns: int) -> list[float]:
    """Say something and wait for its answer, `turns` times; the seconds each answer took."""
    waits = []
    for n in range(turns):
        await tab.say(TEXTS[n % len(TEXTS)])
        waits.append(await until(lambda: len(tab.answered()) == n + 1, timeout=120))
    return waits


async def test_a_client_that_stops_reading_gets_every_answer_once_in_order_when_it_reads_again(
    trained_demo_bot, fault_stack
):
    """A tab stops reading and sends 12 messages: all are answered and stored while their frames pile up
    unread, two other visitors talking on the same daphne meanwhile are answered as usual, and when the tab
    reads again it gets every ack and answer once, in order."""
    slow = await Tab(fault_stack.urls[0], receive_buffer=SMALL_BUFFER).open()
    others = [await Tab(fault_stack.urls[0]).open() for _ in range(2)]
    tabs = [slow, *others]
    try:
        slow.pause_reading()
        for n in range(12):
            await slow.say(TEXTS[n % len(TEXTS)])
        waits = await asyncio.gather(*(_converse(tab, 3) for tab in others))
        await until(lambda: _answers_stored(fault_stack.dsn, slow.conversation) == 12, timeout=120, step=0.5)
        client_port, server_port = _ports(slow)
        server_queued, _ = _tcp_queues(server_port, client_port)
        _, client_queued = _tcp_queues(client_port, server_port)
        read_before = slow.received_bytes
        slow.resume_reading()
        caught_up = await until(lambda: slow.done() and len(slow.bot) == 12, timeout=60)
        piled = slow.received_bytes - read_before
    finally:
        for tab in tabs:
            await tab.close()
    result = await asyncio.to_thread(tally, fault_stack.dsn, tabs)
    print(result.line(
        "slow-client-reads-again", tabs=3, others_max_wait_s=round(max(max(w) for w in waits), 2),
        piled_payload_b=piled, server_send_queue_b=server_queued, client_receive_queue_b=client_queued,
        caught_up_s=round(caught_up, 2),
    ))  # fmt: skip
    result.assert_nothing_lost()
    assert len(slow.sockets) == 1 and result.replayed == 0  # the same socket, nothing needed a resume


async def test_a_client_that_never_reads_is_dropped_by_daphne_and_catches_up_after_reconnecting(
    trained_demo_bot, fault_stack
):
    """A tab sends 5 messages and then neither reads nor sends: daphne's keepalive ping goes unanswered, so it
    drops the socket (the second daphne pings after 1 s, drops 2 s later); when the tab reads again it finds
    the socket closed, reconnects, resumes and gets every answer once, in order."""
    tab = await Tab(fault_stack.urls[1], receive_buffer=SMALL_BUFFER).open()
    try:
        tab.pause_reading()
        for n in range(5):
            await tab.say(TEXTS[n])
        quiet_since = time.monotonic()
        client_port, server_port = _ports(tab)
        await until(lambda: _answers_stored(fault_stack.dsn, tab.conversation) == 5, timeout=120, step=0.5)
        dropped = await until(lambda: _tcp_queues(server_port, client_port) is None, timeout=60)
        dropped_after = time.monotonic() - quiet_since
        tab.resume_reading()
        await until(lambda: tab.done() and len(tab.bot) == 5, timeout=60)
    finally:
        await tab.close()
    result = await asyncio.to_thread(tally, fault_stack.dsn, [tab])
    print(result.line("slow-client-never-reads", tabs=1, dropped_after_quiet_s=round(dropped_after, 1),
                      waited_for_drop_s=round(dropped, 1), sockets=len(tab.sockets)))  # fmt: skip
    result.assert_nothing_lost()
    assert len(tab.sockets) == 2 and tab.sockets[0].close_code == 1006  # dropped without a closing handshake
