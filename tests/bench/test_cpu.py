"""bench.cpu: the CPU a load costs each part of the stack, per turn."""

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from bench.cpu import cpu_ms_per_turn, cpu_seconds, postgres_backends, process_trees, this_process


def test_per_turn_cost_is_the_difference_of_the_readings_divided_by_the_turns():
    """A process seen in both readings counts its difference; one started meanwhile counts whole."""
    before = {"web": {1: 10.0, 2: 5.0}, "postgres": {7: 1.0}}
    after = {"web": {1: 10.5, 2: 5.25}, "postgres": {7: 1.1, 8: 0.2}}
    per_turn = cpu_ms_per_turn(before, after, turns=100)
    assert per_turn == {"web": 7.5, "postgres": 3.0, "total": 10.5}
    assert cpu_ms_per_turn(before, after, turns=0)["total"] is None


def test_readings_follow_real_work_of_a_process_and_its_children():
    """A child's busy half second shows in its tree's reading; this process's own reading names only itself."""
    child = subprocess.Popen([sys.executable, "-c", BUSY_THEN_SLEEP])
    try:
        parts = {"tree": process_trees([child.pid]), "self": this_process()}
        first = sum(cpu_seconds(parts)["tree"].values())
        for _ in range(200):  # at most 10 s for the child to finish its busy loop
            if sum(cpu_seconds(parts)["tree"].values()) - first > 0.3:
                break
            time.sleep(0.05)
        assert sum(cpu_seconds(parts)["tree"].values()) - first > 0.3
        assert list(cpu_seconds(parts)["self"]) == [os.getpid()]
    finally:
        child.kill()
        child.wait()


@pytest.mark.django_db
def test_postgres_backends_are_those_of_the_database_named():
    """The server's backends serving this test database count; a database of the same server with another name
    (another engineer's, on a shared server) does not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    name = connection.settings_dict["NAME"]
    assert pid in [process.pid for process in postgres_backends(name)()]
    assert pid not in [process.pid for process in postgres_backends(name + "_other")()]
    assert pid not in [process.pid for process in postgres_backends(name[:-1])()]


BUSY_THEN_SLEEP = """
import time
end = time.process_time() + 0.5
while time.process_time() < end:
    pass
time.sleep(30)
"""
