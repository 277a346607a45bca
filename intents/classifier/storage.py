"""Artifact directories: JSON plus numpy arrays, written atomically.

No pickles: an artifact is data, so loading one from a shared volume cannot run code.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"


class ArtifactError(ValueError):
    """The directory is not a classifier artifact this code can read."""


def write_artifact(
    path: str | Path,
    manifest: dict[str, Any],
    arrays: dict[str, np.ndarray],
    extra_files: dict[str, Path] | None = None,
) -> None:
    """Replace `path` with a new artifact; readers see the old one or the new one, never a half-written one.

    `extra_files` (name in the artifact, which may name a sub-folder: source file) travel inside the same atomic
    write, e.g. a report's plot or a fine-tuned encoder's files.

    POSIX cannot rename a directory over a non-empty one, so the old artifact is
    first moved aside: between the two renames `path` briefly does not exist.
    """
    with atomic_directory(path) as staging:
        _write_files(staging, {**manifest, "format_version": FORMAT_VERSION}, arrays)
        for name, source in (extra_files or {}).items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / name)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty staging directory beside `path`; on success it replaces `path`, on error it is removed."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o755)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_artifact(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    root = Path(path)
    if not (root / MANIFEST).is_file() or not (root / ARRAYS).is_file():
        raise ArtifactError(f"{str(root)!r} is not an intent classifier artifact (missing {MANIFEST} or {ARRAYS})")
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(f"artifact format {version!r} at {str(root)!r}; this code reads format {FORMAT_VERSION}")
    with np.load(root / ARRAYS, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return manifest, arrays


def _write_files(directory: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    with open(directory / ARRAYS, "wb") as fh:
        np.savez_compressed(fh, **arrays)
        _flush(fh)
    with open(directory / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False)
        _flush(fh)


def _flush(fh: Any) -> None:
    # Without fsync a crash right after the rename can leave empty files under the final name.
    fh.flush()
    os.fsync(fh.fileno())


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, retired / "artifact")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired / "artifact", target)
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
