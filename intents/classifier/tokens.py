"""Static token embeddings: WordLlama's l2_supercat model (256 dimensions over Llama 2's 32k-token vocabulary).

Its weights and tokenizer ship inside the `wordllama` wheel on PyPI, so they install offline like the default
encoder; only those two files are read (safetensors and tokenizers), the package itself is never imported.
A sentence's vector is the mean of its tokens' vectors: no context, but a vocabulary that covers Spanish
sub-words, where all-MiniLM-L6-v2 saw little Spanish (docs/evaluation.md).
"""

from __future__ import annotations

import importlib.util
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
EXPORTED_TOKENS = "tokens"  # inside an exported artifact: a copy of those two files


def tokens_export(target: Path) -> None:
    """Copy the token model's two files under `target` (an export folder), as token_embed reads them."""
    for name in (WEIGHTS_FILE, TOKENIZER_FILE):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tokens_path() / name, target / name)


def tokens_path() -> Path:
    """The installed wordllama package's folder (what an export copies, as `tokens/`)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the wordllama package is not installed (pip install wordllama==0.4.0.post1)")
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=4)
def _model(root: str) -> tuple[np.ndarray, Tokenizer]:
    weights = load_file(str(Path(root) / WEIGHTS_FILE))["embedding.weight"].astype(np.float32)
    return weights, Tokenizer.from_file(str(Path(root) / TOKENIZER_FILE))


def token_embed(texts: list[str], root: str | Path | None = None) -> np.ndarray:
    """One unit-length row per text: the mean of its tokens' vectors (zeros for a text with no token)."""
    weights, tokenizer = _model(str(root or tokens_path()))
    out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
    for i, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
        if encoding.ids:
            out[i] = weights[encoding.ids].mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
