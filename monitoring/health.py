"""Readiness: can this deployment answer? The database, Redis (when configured), every production model and,
with Redis, the answer workers: at least one ready worker must hold a model of each bot with a production version.

Each check returns (ok, detail). The model check reads each production version's artifact the way a worker
loads it (manifest and arrays, not the encoder) and remembers the outcome per artifact, keyed by the files'
size and modification time: a probe costs one query and two `stat` calls per bot until an artifact changes.
"""

import os
import threading
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError

from conversations.inference import workers_ready
from intents.classifier.storage import ARRAYS, MANIFEST, ArtifactError, read_artifact
from intents.services import artifact_local_path

from . import selectors

Check = tuple[bool, Any]

_artifacts: dict[str, tuple[tuple, str | None]] = {}  # path -> (stat signature, error or None)
_artifacts_lock = threading.Lock()


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, report): the report names every part and, for a failing one, why."""
    checks = {"database": database_check()}
    if settings.REDIS_URL:
        checks["redis"] = redis_check(settings.REDIS_URL)
    if settings.CELERY_BROKER_URL and settings.CELERY_BROKER_URL != settings.REDIS_URL:
        checks["broker"] = redis_check(settings.CELERY_BROKER_URL)
    checks["models"] = models_check() if checks["database"][0] else (False, "not checked: the database is down")
    if settings.REDIS_URL:
        checks["answer_workers"] = answer_workers_check() if checks["redis"][0] and checks["database"][0] else (
            False, "not checked: Redis or the database is down")  # fmt: skip
    failing = [name for name, (ok, _) in checks.items() if not ok]
    report = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }
    return not failing, report


def database_check() -> Check:
    try:
        selectors.database_ping()
    except DatabaseError as error:
        return False, _first_line(error)
    return True, "reachable"


def redis_check(url: str) -> Check:
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return False, _first_line(error)
    return True, "reachable"


def models_check() -> Check:
    """Every bot with a production model can load it; at least one bot has one (else nothing is answered).

    A bot that was never trained does not fail the check: it is listed, since a bot being set up must not
    take the service out of its load balancer.
    """
    models = selectors.production_models()
    if not models:
        return False, "no bot has a production model: run `manage.py train_intents --bot <slug>`"
    errors = {model.bot: error for model in models if (error := artifact_error(model.artifact_path))}
    if errors:
        return False, {"unloadable": errors}
    return True, {"served": {model.bot: model.version for model in models}, "untrained": selectors.bots_without_model()}


def answer_workers_check() -> Check:
    """The answer workers whose heartbeat is current, and the production versions they hold (numbers by bot).

    Fails when no ready worker holds any model of a bot that has a production version: its visitors' messages
    would wait for a worker to start and load it. A bot whose workers still hold the previous version (a
    promotion they pick up within seconds, loading the new one before they answer with it) is listed under
    `loading` and does not fail: failing then would take every web replica out of the load balancer at each
    promotion."""
    workers = workers_ready()
    production = {model.version_id: model for model in selectors.production_models()}
    held: dict[str, set[int]] = {}
    serving: set[int] = set()  # bots some ready worker holds a model of, whichever version
    for worker in workers:
        serving.update(int(bot) for bot in worker["versions"])
        for model in (production[pk] for pk in worker["versions"].values() if pk in production):
            held.setdefault(model.bot, set()).add(model.version)
    detail = {"ready": len(workers), "versions": {bot: sorted(versions) for bot, versions in sorted(held.items())}}
    not_held = [m for m in production.values() if m.version not in held.get(m.bot, ())]
    loading = sorted(f"{m.bot} v{m.version}" for m in not_held if m.bot_id in serving)
    missing = sorted(f"{m.bot} v{m.version}" for m in not_held if m.bot_id not in serving)
    if loading:
        detail["loading"] = loading
    if not production:  # nothing to hold: the models check fails this deployment already
        return True, detail
    if not workers:
        return False, {**detail, "error": "no answer worker is ready: start `manage.py answer_worker`"}
    if missing:
        return False, {**detail, "error": f"no ready answer worker holds a model of {', '.join(missing)}"}
    return True, detail


def artifact_error(path: str) -> str | None:
    """Why the artifact at `path` (a model storage key, or a legacy folder) cannot be loaded, or None. The
    artifact is fetched into this host's cache as a worker fetches it, then re-read only when its files changed."""
    try:
        local = artifact_local_path(artifact_path=path)
    except (ArtifactError, OSError) as failure:
        return f"{path}: {failure}"
    try:
        stats = [os.stat(local / name) for name in (MANIFEST, ARRAYS)]
        signature = tuple((s.st_size, s.st_mtime_ns) for s in stats)
    except OSError as error:
        return f"{path}: {error.strerror}"
    with _artifacts_lock:
        cached = _artifacts.get(path)
    if cached and cached[0] == signature:
        return cached[1]
    try:
        read_artifact(local)
        error = None
    except (ArtifactError, OSError, ValueError, KeyError) as failure:
        error = f"{path}: {failure}"
    with _artifacts_lock:
        _artifacts[path] = (signature, error)
    return error


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
