"""Evaluation figures: accuracy, macro-F1, per-intent scores, out-of-scope rules, a confusion-matrix plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support


def classification_report(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 in percent, and precision/recall/F1/support per intent."""
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": _percent(np.mean(np.asarray(truth) == np.asarray(predicted))),
        "macro_f1": _percent(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "per_intent": {
            label: {"precision": _percent(p), "recall": _percent(r), "f1": _percent(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
    }


def out_of_scope_report(
    in_scope_correct: np.ndarray, in_scope_confidence: np.ndarray, oos_confidence: np.ndarray, threshold: float
) -> dict[str, float]:
    """Larson et al.'s figures at a threshold: an in-scope message counts only if right and accepted."""
    accepted = in_scope_confidence >= threshold
    return {
        "threshold": round(float(threshold), 4),
        "in_scope_accuracy": _percent(np.mean(in_scope_correct & accepted)),
        "in_scope_rejected": _percent(np.mean(~accepted)),
        "oos_recall": _percent(np.mean(oos_confidence < threshold)),
    }


def threshold_on_validation(
    in_scope_correct: np.ndarray, in_scope_confidence: np.ndarray, oos_confidence: np.ndarray
) -> float:
    """The threshold with the best accuracy over validation in-scope + out-of-scope messages together.

    This is the protocol of Larson et al. (2019): every validation message counts once,
    an out-of-scope one is right when rejected, an in-scope one when accepted and right.
    """
    candidates = np.unique(np.concatenate([[0.0], in_scope_confidence, oos_confidence]))
    kept = (in_scope_correct[None, :] & (in_scope_confidence[None, :] >= candidates[:, None])).sum(axis=1)
    rejected = (oos_confidence[None, :] < candidates[:, None]).sum(axis=1)
    return float(candidates[np.argmax(kept + rejected)])


def confusion_plot(truth: list[str], predicted: list[str], path: str | Path, *, title: str) -> Path:
    """Write a confusion-matrix PNG (rows: true intent, columns: predicted; row-normalised)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and workers
    import matplotlib.pyplot as plt

    labels = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=labels).astype(float)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.12 * len(labels), 24)
    figure, axes = plt.subplots(figsize=(size, size), dpi=100)
    image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(labels))
    if len(labels) <= 80:  # beyond that the names are unreadable anyway
        axes.set_xticks(ticks, labels, rotation=90, fontsize=6)
        axes.set_yticks(ticks, labels, fontsize=6)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _percent(value: float) -> float:
    return round(100 * float(value), 2)
