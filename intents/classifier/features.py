"""Sparse lexical features (TF-IDF word and character n-grams) and their plain-data form.

Vectorizers are stored as JSON (parameters, vocabulary) plus a numpy idf array
rather than pickles, so loading an artifact never executes code from disk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

# Word n-grams catch the exact keywords a bot's authors wrote; character n-grams
# survive typos, inflection and accents ("buenos dias" vs "buenos días").
WORD_PARAMS: dict[str, Any] = {
    "analyzer": "word",
    "ngram_range": (1, 2),
    "lowercase": True,
    "strip_accents": "unicode",
    "sublinear_tf": True,
    "token_pattern": r"(?u)\b\w+\b",  # keep one-letter words: "a", "y", "o" matter in Spanish
}
CHAR_PARAMS: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (2, 5),
    "lowercase": True,
    "strip_accents": "unicode",
    "sublinear_tf": True,
    "max_features": 200_000,  # bounds artifact size and training time on large datasets
}
# Accents stay for language identification: "ñ", "¿" and "é" are strong cues.
LANGUAGE_PARAMS: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (1, 4),
    "lowercase": True,
    "sublinear_tf": True,
    "max_features": 100_000,
}


def fit_vectorizer(texts: list[str], params: dict[str, Any]) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(dtype=np.float32, **params)
    vectorizer.fit(texts)
    return vectorizer


def tfidf_transform(vectorizer: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix:
    """vectorizer.transform(texts): scikit-learn's counting, then the idf weighting and l2 norm on the sparse
    arrays themselves. On the few short messages a worker classifies at once, TfidfVectorizer.transform spends
    0.2-0.4 ms a call on input checks and scipy's sparse bookkeeping, about four times the counting; this takes
    0.06-0.14 ms. tests/intents/classifier/test_features.py holds the two to 1e-6. Other weightings (no idf,
    l1 or no norm, binary counts) go to scikit-learn."""
    if not (vectorizer.use_idf and vectorizer.norm == "l2" and not vectorizer.binary):
        return vectorizer.transform(texts)
    counts = CountVectorizer.transform(vectorizer, texts)
    data = counts.data.astype(np.float32)
    if vectorizer.sublinear_tf:
        np.log(data, out=data)
        data += 1
    data *= vectorizer.idf_[counts.indices]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=counts.shape[0])).astype(np.float32)
    norms[norms == 0] = 1
    data /= norms[rows]
    return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def vectorizer_state(vectorizer: TfidfVectorizer) -> tuple[dict[str, Any], np.ndarray]:
    """JSON-safe description of a fitted vectorizer, and its idf weights."""
    params = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in vectorizer.get_params().items()
        if key not in ("vocabulary", "dtype")
    }
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    return {"params": params, "vocabulary": vocabulary}, np.asarray(vectorizer.idf_, dtype=np.float64)


def vectorizer_from_state(state: dict[str, Any], idf: np.ndarray) -> TfidfVectorizer:
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in state["params"].items()}
    # The stored vocabulary already obeys the fit-time cap.
    params.pop("max_features", None)
    vectorizer = TfidfVectorizer(dtype=np.float32, vocabulary=state["vocabulary"], **params)
    vectorizer.idf_ = idf
    return vectorizer


@dataclass(frozen=True)
class BlockWeights:
    """Scale of each unit-length block: a block weighted 2 pulls the head's decision twice as hard at equal C."""

    dense: float = 1.0
    word: float = 1.0
    char: float = 1.0
    tokens: float = 0.0  # static token embeddings (tokens.py); 0: no such block


_STEMMER = snowballstemmer.stemmer("spanish")


def stem_texts(texts: list[str]) -> list[str]:
    """The word block's input when a head is tuned to stem: lower-case, accents and digits folded, each word cut
    to its Spanish Snowball stem ("alarmas" and "alarma" meet, "5:45" and "7:30" too)."""
    out = []
    for text in texts:
        folded = "".join(ch for ch in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(ch))
        out.append(re.sub(r"\d+", "0", " ".join(_STEMMER.stemWords(re.findall(r"\w+", folded)))))
    return out


def combine(
    embeddings: np.ndarray,
    word: sp.spmatrix,
    char: sp.spmatrix,
    weights: BlockWeights = BlockWeights(),
    tokens: np.ndarray | None = None,
) -> sp.csr_matrix:
    """One row per text: [sentence embedding | word TF-IDF | char TF-IDF | token embedding when weighted], each
    block unit-length, then weighted.

    Embeddings of several layers (each unit-length) are scaled together to one unit-length block.
    """
    dense = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    blocks = [sp.csr_matrix(dense * weights.dense), word * weights.word, char * weights.char]
    if weights.tokens:
        if tokens is None:
            raise ValueError("these weights use the token block: pass the texts' token embeddings")
        blocks.append(sp.csr_matrix(tokens * weights.tokens))
    return sp.hstack(blocks, format="csr", dtype=np.float32)
