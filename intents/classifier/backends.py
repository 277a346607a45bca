"""Which runtime computes sentence embeddings: torch, or ONNX Runtime in fp32 or int8.

The linear heads and TF-IDF are numpy either way; only the encoder changes, so a
model trained with torch is served by ONNX Runtime without retraining.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from . import storage
from .encoder import EncoderNotFoundError, default_encoder_path
from .onnx_encoder import OnnxEncoder, export_encoder, is_onnx_encoder
from .tokens import EXPORTED_TOKENS, tokens_export

BACKENDS = ("torch", "onnx", "onnx-int8")
EXPORTED_ENCODER = "encoder"  # the ONNX encoder inside a self-contained (exported) artifact
TUNED_ENCODER = "tuned_encoder"  # a fine-tuned encoder inside an artifact (weights, config, tokenizer)

_ONNX: dict[str, OnnxEncoder] = {}
_ONNX_LOCK = threading.Lock()


def encoder_for_backend(
    artifact: Path,
    info: dict[str, Any],
    *,
    backend: str,
    onnx_cache: str | Path | None,
    torch_loader: Callable[[dict[str, Any]], Any],
) -> tuple[Any, str]:
    """The encoder an artifact runs on under `backend`, and the backend actually used."""
    if is_onnx_encoder(artifact / EXPORTED_ENCODER):
        encoder = onnx_encoder_get(artifact / EXPORTED_ENCODER)
        return encoder, "onnx-int8" if encoder.quantize == "int8" else "onnx"
    if backend == "torch":
        return torch_loader(info), "torch"
    quantize = "int8" if backend == "onnx-int8" else "none"
    source = info.get("path") or default_encoder_path()
    directory = onnx_encoder_ensure(source, Path(onnx_cache or artifact.parent / ".encoders"), quantize=quantize)
    encoder = onnx_encoder_get(directory)
    if encoder.dimension != info["dimension"]:
        raise EncoderNotFoundError(
            f"ONNX encoder {directory} gives {encoder.dimension}-d vectors, not {info['dimension']}"
        )
    return encoder, backend


def onnx_encoder_ensure(source: str, cache: Path, *, quantize: str) -> Path:
    """The ONNX export of the encoder at `source`, made once per machine; concurrent workers wait for one export."""
    digest = hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:10]
    # "layers": graphs with per-layer outputs; an older export beside it is left to the workers still using it.
    directory = cache / f"{Path(source).name}-{digest}-layers-{quantize}"
    if is_onnx_encoder(directory):
        return directory
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_onnx_encoder(directory):
            export_encoder(source, directory, quantize=quantize)
    return directory


def onnx_encoder_get(directory: Path) -> OnnxEncoder:
    """One ONNX Runtime session per directory per process, with torch's thread budget."""
    key = str(directory.resolve())
    with _ONNX_LOCK:
        if key not in _ONNX:
            _ONNX[key] = OnnxEncoder(key, threads=torch.get_num_threads())
        return _ONNX[key]


def artifact_export(source: str | Path, target: str | Path, *, quantize: str = "none") -> Path:
    """A self-contained copy of the artifact at `source`: the classifier plus its encoder as ONNX, tokenizer included.

    Written beside `target` and renamed into place, so a reader never sees half an export.
    """
    source, target = Path(source), Path(target).resolve()
    manifest, _ = storage.read_artifact(source)  # refuses anything that is not an artifact
    with storage.atomic_directory(target) as staging:
        for name in (storage.MANIFEST, storage.ARRAYS):
            shutil.copy2(source / name, staging / name)
        info = manifest["metadata"]["encoder"]
        encoder_source = source / TUNED_ENCODER if info.get("tuned") else info.get("path") or default_encoder_path()
        export_encoder(encoder_source, staging / EXPORTED_ENCODER, quantize=quantize)
        if manifest["metadata"].get("head_config", {}).get("weights", {}).get("tokens"):
            tokens_export(staging / EXPORTED_TOKENS)
    return target
