"""Choosing the head's C and the feature-block weights on a validation split, never on test.

Each dataset leans on different evidence: Spanish commands are matched best by
words (all-MiniLM-L6-v2 saw little Spanish), English paraphrases by the embedding.
The encoder runs once; each candidate costs one logistic-regression fit.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .encoder import Encoder
from .features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from .head import LinearHead
from .model import HeadConfig

# The default first: on a tie it wins, so tuning never moves away from it for nothing.
GRID: list[HeadConfig] = [HeadConfig()] + [
    HeadConfig(c=c, weights=BlockWeights(dense=dense))
    for c, dense in itertools.product((10.0, 30.0), (0.5, 1.0, 2.0))
    if (c, dense) != (10.0, 1.0)
]


def head_config_select(
    *,
    encoder: Encoder,
    train: tuple[list[str], list[str]],
    validation: tuple[list[str], list[str]],
    train_embeddings: np.ndarray | None = None,
    grid: list[HeadConfig] | None = None,
    seed: int = 0,
) -> tuple[HeadConfig, list[dict[str, Any]]]:
    """The candidate with the best validation accuracy, and every candidate's score."""
    (texts, intents), (val_texts, val_intents) = train, validation
    dense = train_embeddings if train_embeddings is not None else encoder.encode(texts)
    val_dense = encoder.encode(val_texts)
    word, char = fit_vectorizer(texts, WORD_PARAMS), fit_vectorizer(texts, CHAR_PARAMS)
    blocks = (word.transform(texts), char.transform(texts))
    val_blocks = (word.transform(val_texts), char.transform(val_texts))
    scores = []
    for config in grid or GRID:
        head = LinearHead.fit(combine(dense, *blocks, config.weights), intents, c=config.c, seed=seed)
        proba = head.predict_proba(combine(val_dense, *val_blocks, config.weights))
        accuracy = float(np.mean(np.asarray(head.classes)[proba.argmax(axis=1)] == np.asarray(val_intents)))
        scores.append({**config.as_dict(), "validation_accuracy": round(100 * accuracy, 2)})
    best = max(range(len(scores)), key=lambda i: (scores[i]["validation_accuracy"], -i))
    return (grid or GRID)[best], scores
