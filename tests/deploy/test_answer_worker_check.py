"""`manage.py answer_worker_check`, the answer-worker container's healthcheck, against a real Redis: healthy while
a worker of this host has a heartbeat there (inference.heartbeat, what a ready worker writes), not otherwise."""

import socket

import pytest
from django.core.management import CommandError, call_command

from conversations import inference


@pytest.fixture
def no_heartbeats(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    client = inference.stream_client()
    client.delete(*client.keys(inference.HEARTBEAT_PREFIX + "*") or ["-"])
    yield
    client.delete(*client.keys(inference.HEARTBEAT_PREFIX + "*") or ["-"])


def test_healthy_only_while_a_worker_of_this_host_beats(no_heartbeats, capsys):
    """No heartbeat (loading, hung or gone), or another host's only: unhealthy. This host's: healthy. Its
    clean exit removes the heartbeat: unhealthy again."""
    with pytest.raises(CommandError, match="no ready answer worker"):
        call_command("answer_worker_check")
    inference.heartbeat(consumer="another-host-1", ready_at=0.0, versions={1: 1})
    with pytest.raises(CommandError):
        call_command("answer_worker_check")
    consumer = f"{socket.gethostname()}-4242"
    inference.heartbeat(consumer=consumer, ready_at=0.0, versions={1: 3})
    call_command("answer_worker_check")
    assert consumer in capsys.readouterr().out
    inference.heartbeat_end(consumer=consumer)
    with pytest.raises(CommandError):
        call_command("answer_worker_check")
