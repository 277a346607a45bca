"""Django's PostgreSQL backend with a connection health check that needs no round trip to the server.

With CONN_HEALTH_CHECKS, Django checks a reused connection before its first query after every
`close_old_connections()`, which Channels' `database_sync_to_async` calls around each call: a `SELECT 1` round
trip per socket event, a visible share of the web process's CPU per chat turn (docs/performance.md). A server
that ends a connection (restart, `pg_terminate_backend`, an idle timeout) writes its error and closes the
socket, so an idle connection with nothing to read is one the server has not ended: that poll is a local
system call. Only when something waits to be read, or outside an idle transaction state, does the check fall
back to Django's `SELECT 1`, which reads it.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        poll = select.poll()
        poll.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poll.poll(0) or super().is_usable()
