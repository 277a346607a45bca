"""The sentence encoder as an ONNX graph: export (fp32 or int8) and inference with ONNX Runtime.

The exported graph includes mean pooling and L2 normalisation, so its outputs are the
vectors the torch Encoder gives: `embedding` (the top layer's) and `layers` (every
transformer layer's, lowest first). The directory also holds the tokenizer and
config: an edge device needs ONNX Runtime and a tokenizer, not torch.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from .encoder import BATCH_SIZE, MAX_TOKENS, EncoderNotFoundError, check_layers, encode_by_length
from .storage import atomic_directory

MODEL_FILE = "model.onnx"
EXPORT_MANIFEST = "onnx_export.json"
OPSET = 17
QUANTIZATIONS = ("none", "int8")
OUTPUTS = ["embedding", "layers"]


def export_encoder(encoder_path: str, target: str | Path, *, quantize: str = "none") -> Path:
    """Write an ONNX encoder directory at `target`, atomically; int8 is dynamic, per-channel.

    Per-tensor int8 moved all-MiniLM-L6-v2 embeddings to cosine 0.963 of fp32 here,
    per-channel to 0.993: one scale per output channel keeps the small rows precise.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    target = Path(target).resolve()
    with atomic_directory(target) as staging:
        model = AutoModel.from_pretrained(encoder_path, local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(encoder_path, local_files_only=True)
        fp32 = staging / ("fp32.onnx" if quantize == "int8" else MODEL_FILE)
        names = _trace(model, tokenizer, fp32)
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(staging / MODEL_FILE), per_channel=True, weight_type=QuantType.QInt8)
            fp32.unlink()
        tokenizer.save_pretrained(staging)
        model.config.save_pretrained(staging)
        manifest = {
            "inputs": names, "outputs": OUTPUTS, "dimension": int(model.config.hidden_size),
            "layers": int(model.config.num_hidden_layers), "quantize": quantize,
        }  # fmt: skip
        (staging / EXPORT_MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return target


def _trace(model: torch.nn.Module, tokenizer, path: Path) -> list[str]:
    """Export the pooled encoder to `path` with batch and length dynamic; returns its input names."""
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    # The tracer warns about Python-level shape checks in transformers' mask code; they are
    # constant for an encoder without a cache, and the parity test checks padded batches.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model, names), tuple(sample[name] for name in names), str(path), input_names=names,
            output_names=OUTPUTS, dynamic_axes={**axes, "embedding": {0: "batch"}, "layers": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    return names


def is_onnx_encoder(path: str | Path) -> bool:
    return (Path(path) / EXPORT_MANIFEST).is_file() and (Path(path) / MODEL_FILE).is_file()


class _Pooled(torch.nn.Module):
    """The transformer with pooling inside, so the exported graph outputs the pooled vectors."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = dict(zip(self.names, inputs))
        hidden = self.model(**batch, output_hidden_states=True).hidden_states[1:]  # [0] is the embedding layer
        # All layers pooled at once: one set of graph nodes instead of one per layer (ONNX Runtime's
        # per-node overhead is what a one-sentence batch pays for).
        stacked = torch.stack(hidden, dim=1)  # batch, layer, token, dimension
        mask = batch["attention_mask"][:, None, :, None].to(stacked.dtype)
        pooled = (stacked * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1e-9)
        layers = torch.nn.functional.normalize(pooled, p=2, dim=2)
        return layers[:, -1], layers


class OnnxEncoder:
    """Same contract as encoder.Encoder, served by ONNX Runtime from an exported directory."""

    def __init__(self, path: str, threads: int | None = None) -> None:
        import onnxruntime

        self.path = path
        manifest = json.loads((Path(path) / EXPORT_MANIFEST).read_text(encoding="utf-8"))
        self.dimension = int(manifest["dimension"])
        # Exports made before per-layer outputs existed give the sentence embedding only.
        self.n_layers = int(manifest["layers"]) if "layers" in manifest.get("outputs", []) else 1
        self.quantize = manifest["quantize"]
        self._inputs = manifest["inputs"]
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(Path(path) / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def encode(
        self,
        texts: list[str],
        batch_size: int = BATCH_SIZE,
        progress: Callable[[float], None] | None = None,
        *,
        layers: int = 1,
    ) -> np.ndarray:
        if layers > self.n_layers:
            raise EncoderNotFoundError(
                f"the ONNX encoder at {self.path!r} gives {self.n_layers} layer(s), not {layers}"
            )
        check_layers(layers, self.n_layers)
        return encode_by_length(
            texts, layers * self.dimension, lambda batch: self._encode_batch(batch, layers), batch_size, progress
        )

    def _encode_batch(self, texts: list[str], layers: int) -> np.ndarray:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np")
        feed = {name: batch[name].astype(np.int64) for name in self._inputs}
        if layers == 1:
            return self._session.run(["embedding"], feed)[0]
        pooled = self._session.run(["layers"], feed)[0][:, -layers:]
        return pooled.reshape(len(texts), layers * self.dimension)
