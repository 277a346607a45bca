"""The PostgreSQL backend's connection health check (chatbot.postgres): a connection the server ended is
replaced before the next query, and a healthy one is checked without a query to the server."""

import pytest
from django.db import close_old_connections, connection


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _from_another_connection(sql: str, params: list) -> list[tuple]:
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_the_next_query():
    """What `database_sync_to_async` does around each consumer call (close_old_connections) then a query: the
    query runs on a new connection, with no error, after the server ended the old one."""
    ended = _backend_pid()
    _from_another_connection("SELECT pg_terminate_backend(%s)", [ended])
    # pg_terminate_backend only signals: wait until the backend is gone (its goodbye is then on our socket).
    while _from_another_connection("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [ended]):
        pass
    close_old_connections()
    assert _backend_pid() != ended


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_checked_without_a_query():
    """The server's record of the connection's last statement is still the caller's after the check: no
    `SELECT 1` was sent, and the connection is the same."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = _backend_pid()
    close_old_connections()
    assert not connection.health_check_done
    connection.close_if_health_check_failed()
    assert connection.health_check_done
    assert _from_another_connection("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]) == [
        ("SELECT pg_backend_pid()",)
    ]
    assert _backend_pid() == pid
