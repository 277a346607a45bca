"""Production hardening: no server process starts with the public development key, and `check --deploy` is
clean with the documented production settings (deploy/production.env)."""

import os
import subprocess
import sys

import pytest
from django.core.management.utils import get_random_secret_key

from chatbot.hardening import DEVELOPMENT_SECRET_KEY, REFUSAL, secret_key_require
from tests.live import BIN, ROOT

PRODUCTION_ENV = ROOT / "deploy" / "production.env"


def _bare_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any Charla or Django setting, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_"))}
    return {**base, "DJANGO_SETTINGS_MODULE": "chatbot.settings", **extra}


def _documented_production_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in PRODUCTION_ENV.read_text().splitlines() if line and line[0] != "#")
    return {key.strip(): value.strip() for key, value in pairs}


def test_check_deploy_prints_no_warning_with_the_documented_production_settings():
    """`manage.py check --deploy --fail-level WARNING` passes with deploy/production.env and a random key."""
    env = _bare_env({**_documented_production_env(), "DJANGO_SECRET_KEY": get_random_secret_key()})
    out = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "System check identified no issues" in out.stdout


def test_daphne_and_manage_py_servers_refuse_the_public_key_with_a_clear_message():
    """DJANGO_DEBUG=false and no DJANGO_SECRET_KEY: daphne and `manage.py runserver` / `answer_worker` exit with
    status 1 and the message saying what to set, before serving anything."""
    env = _bare_env({"DJANGO_DEBUG": "false"})
    commands = {
        "daphne": [str(BIN / "daphne"), "-p", "1", "chatbot.asgi:application"],
        "runserver": [sys.executable, "manage.py", "runserver", "127.0.0.1:1"],
        "answer_worker": [sys.executable, "manage.py", "answer_worker"],
    }
    running = {name: subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for name, command in commands.items()}  # fmt: skip
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=240)
        assert (name, process.returncode) == (name, 1), stdout + stderr[-3000:]
        assert REFUSAL in stderr, (name, stderr[-3000:])


def test_celery_workers_and_beat_refuse_the_public_key(settings):
    """Workers and beat import their task modules through Celery's loader before consuming anything; Celery
    re-raises what that step's signal receivers raise, so the refusal stops them there. (This runs the loader
    in-process: a worker subprocess would spend seconds importing the app first.)"""
    from chatbot.celery import app

    settings.DEBUG, settings.CHARLA_DEV, settings.SECRET_KEY = False, False, DEVELOPMENT_SECRET_KEY
    with pytest.raises(SystemExit, match="DJANGO_SECRET_KEY is not set"):
        app.loader.import_default_modules()
    settings.CHARLA_DEV = True
    app.loader.import_default_modules()


@pytest.mark.parametrize(
    ("debug", "dev", "key", "starts"),
    [
        (False, False, DEVELOPMENT_SECRET_KEY, False),
        (False, True, DEVELOPMENT_SECRET_KEY, True),  # CHARLA_DEV=1: make run, make test
        (True, False, DEVELOPMENT_SECRET_KEY, True),  # DJANGO_DEBUG=true is development too
        (False, False, "a-configured-key-" + "x" * 40, True),
    ],
)
def test_the_development_key_is_accepted_only_in_development(settings, debug, dev, key, starts):
    """The guard lets a process start with the development key only under DEBUG or CHARLA_DEV."""
    settings.DEBUG, settings.CHARLA_DEV, settings.SECRET_KEY = debug, dev, key
    if starts:
        secret_key_require()
    else:
        with pytest.raises(SystemExit, match="DJANGO_SECRET_KEY is not set"):
            secret_key_require()
