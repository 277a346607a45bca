import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conversations import inference


class Command(BaseCommand):
    help = (
        "Exit 0 when an answer worker on this host is ready: its heartbeat in Redis is younger than its time to "
        "live. The answer-worker container's healthcheck (compose.yaml); exit 1 otherwise."
    )

    def handle(self, *args, **options) -> None:
        """A worker writes its heartbeat once its models are loaded, then every HEARTBEAT_EVERY_S between batches;
        the key expires HEARTBEAT_TTL_S after the last one. So a missing key means this host's worker is loading,
        hung, or gone: the process alone being alive says none of that."""
        if not settings.REDIS_URL:
            raise CommandError("no REDIS_URL: answer workers run only with the Redis answer stream")
        host = socket.gethostname()
        beats = [beat for beat in inference.workers_ready() if beat["consumer"].startswith(f"{host}-")]
        if not beats:
            raise CommandError(f"no ready answer worker on {host}: no heartbeat in Redis")
        self.stdout.write(", ".join(f"{beat['consumer']} ready, models {beat['versions']}" for beat in beats))
