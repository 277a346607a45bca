"""Model artifacts in the shared model storage (`STORAGES["models"]`) and in each host's local cache.

The ML code reads and writes local directories only. After training, `artifact_publish` uploads an artifact's
files under a storage key such as `demo/v3`, then a checksum list (`checksums.json`) last: a key whose list
exists has every file complete, and a half-uploaded artifact has none, so it is never served. A worker serves
`artifact_local_path`: its host's copy under CHARLA_MODEL_CACHE_DIR, downloaded once per host under a file lock,
checked against the list and renamed into place, so the cache holds whole, verified copies or nothing. A copy's
folder is named after its checksum list's digest, so a key published again with other content (a store wiped
and retrained from v1) is never answered from a stale copy.

A version recorded before model storage existed has an absolute `artifact_path`: it is read from that directory,
as it always was (it is served on the hosts that have that directory), until `manage.py publish_models` uploads it
(`model_version_publish`).
"""

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from ..classifier import ArtifactError
from ..classifier.storage import atomic_directory

CHECKSUMS = "checksums.json"
_CHUNK = 1 << 20


class ArtifactUnavailable(ArtifactError):
    """The artifact cannot be fetched from the model storage: never published, incomplete or corrupted."""


def model_storage() -> Storage:
    return storages["models"]


def artifact_publish(*, directory: Path, key: str) -> str:
    """Upload the artifact at `directory` under `key`, its checksum list last; returns `key`.

    A list left by an earlier, failed attempt at the same key is deleted first, so readers never pair it
    with the new files.
    """
    storage, files = model_storage(), {}
    _check_key(key)
    storage.delete(f"{key}/{CHECKSUMS}")
    in_place = _storage_folder(storage, key) == Path(directory).resolve()
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file() and p.name != CHECKSUMS):
        name = path.relative_to(directory).as_posix()
        with path.open("rb") as fh:
            files[name] = {"sha256": _sha256(fh), "size": path.stat().st_size}
            if not in_place:  # a file saved onto itself would be truncated before it is read
                fh.seek(0)
                _save(storage, f"{key}/{name}", File(fh))
    _save(storage, f"{key}/{CHECKSUMS}", ContentFile(json.dumps({"files": files}, indent=1).encode()))
    return key


def artifact_exists(*, artifact_path: str) -> bool:
    """Whether the artifact is published completely (or, for a legacy absolute path, its directory exists)."""
    if Path(artifact_path).is_absolute():
        return Path(artifact_path).is_dir()
    return model_storage().exists(f"{artifact_path}/{CHECKSUMS}")


def artifact_open(*, artifact_path: str, name: str) -> IO[bytes]:
    """One file of an artifact, read from the storage (or a legacy directory); FileNotFoundError when absent."""
    if Path(artifact_path).is_absolute():
        return (Path(artifact_path) / name).open("rb")
    return model_storage().open(f"{artifact_path}/{name}", "rb")


def artifact_local_path(*, artifact_path: str) -> Path:
    """This host's verified copy of the artifact, downloaded from the model storage on first use.

    Each call reads the small checksum list from the storage (workers call this only when production changes).
    Concurrent processes of one host wait on a file lock for one download. Raises ArtifactUnavailable when the
    storage has no complete artifact at that key or a file does not match its checksum; nothing is cached then.
    """
    if Path(artifact_path).is_absolute():
        return Path(artifact_path)
    _check_key(artifact_path)
    listing = _checksums_read(artifact_path)
    target = Path(settings.CHARLA_MODEL_CACHE_DIR) / artifact_path / hashlib.sha256(listing).hexdigest()[:16]
    if (target / CHECKSUMS).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / CHECKSUMS).is_file():
            _download(artifact_path, json.loads(listing), target)
    return target


def _checksums_read(key: str) -> bytes:
    try:
        with model_storage().open(f"{key}/{CHECKSUMS}", "rb") as fh:
            return fh.read()
    except FileNotFoundError as exc:
        raise ArtifactUnavailable(
            f"model artifact {key!r} is not in the model storage ({CHECKSUMS} missing: never published, "
            "or its upload did not finish)"
        ) from exc


def _download(key: str, checksums: dict, target: Path) -> None:
    storage = model_storage()
    with atomic_directory(target) as staging:
        for name, expected in checksums["files"].items():
            _check_key(name)
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with storage.open(f"{key}/{name}", "rb") as source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
            except FileNotFoundError as exc:
                raise ArtifactUnavailable(f"model artifact {key!r}: {name} is missing from the model storage") from exc
            with destination.open("rb") as fh:
                digest = _sha256(fh)
            if digest != expected["sha256"] or destination.stat().st_size != expected["size"]:
                raise ArtifactUnavailable(
                    f"model artifact {key!r}: {name} does not match its checksum (corrupted in the storage or in "
                    "transit); refusing to serve it"
                )
        # Written last: a cached directory with this file is a complete, verified copy.
        (staging / CHECKSUMS).write_text(json.dumps(checksums), encoding="utf-8")


def _storage_folder(storage: Storage, key: str) -> Path | None:
    """The local folder a filesystem storage keeps `key` in; None for a remote storage."""
    try:
        return Path(storage.path(key)).resolve()
    except NotImplementedError:
        return None


def _save(storage: Storage, name: str, content: File) -> None:
    saved = storage.save(name, content)
    if saved != name:  # a storage that renames instead of overwriting would publish under another key
        storage.delete(saved)
        raise ArtifactError(f"the model storage saved {name!r} as {saved!r}: configure it to overwrite files")


def _sha256(fh: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_key(key: str) -> None:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(part in ("..", ".") for part in parts):
        raise ArtifactError(f"{key!r} is not a model storage key")
