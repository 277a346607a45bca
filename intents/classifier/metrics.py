"""Evaluation figures: accuracy, macro-F1, per-intent scores, out-of-scope rules and their threshold curve,
a confusion-matrix plot and a threshold plot."""

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


def out_of_scope_curve(
    in_scope_correct: np.ndarray, in_scope_score: np.ndarray, oos_score: np.ndarray, threshold: float,
    *, points: int = 200,
) -> dict[str, Any]:
    """Out-of-scope precision and recall, and in-scope accuracy, at `threshold` and along a range of thresholds.

    A message is rejected below the threshold; precision is the share of rejected messages that are out of scope
    (None when nothing is rejected), in-scope accuracy counts a rejected in-scope message as wrong.
    """
    scores = np.concatenate([in_scope_score, oos_score])
    finite = scores[np.isfinite(scores)]
    grid = (
        np.unique(np.concatenate([np.quantile(finite, np.linspace(0, 1, points)), [threshold]])) if len(finite) else []
    )
    curve = [_at_threshold(in_scope_correct, in_scope_score, oos_score, float(t)) for t in grid]
    return {
        **_at_threshold(in_scope_correct, in_scope_score, oos_score, threshold),
        "n_in_scope": int(len(in_scope_score)), "n_out_of_scope": int(len(oos_score)),
        "curve": {key: [row[key] for row in curve]
                  for key in ("threshold", "precision", "recall", "in_scope_accuracy")},
    }  # fmt: skip


def _at_threshold(correct: np.ndarray, in_scope: np.ndarray, oos: np.ndarray, threshold: float) -> dict[str, Any]:
    caught, false_alarms = int(np.sum(oos < threshold)), int(np.sum(in_scope < threshold))
    return {
        "threshold": round(threshold, 4),
        "precision": _percent(caught / (caught + false_alarms)) if caught + false_alarms else None,
        "recall": _percent(caught / len(oos)) if len(oos) else None,
        "in_scope_accuracy": _percent(np.mean(correct & (in_scope >= threshold))) if len(in_scope) else None,
    }


def threshold_plot(curve: dict[str, Any], path: str | Path, *, title: str) -> Path:
    """Write a PNG of out-of-scope precision and recall and in-scope accuracy against the threshold, with the
    chosen threshold (`curve["threshold"]`, as out_of_scope_curve returns it) marked."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=100)
    points = curve["curve"]
    for key, label in (("precision", "out-of-scope precision"), ("recall", "out-of-scope recall"),
                       ("in_scope_accuracy", "in-scope accuracy")):  # fmt: skip
        values = [np.nan if v is None else v for v in points[key]]
        axes.plot(points["threshold"], values, label=label)
    axes.axvline(curve["threshold"], color="black", linestyle="--", label=f"chosen threshold {curve['threshold']:g}")
    axes.set_xlabel("threshold on the rejection score")
    axes.set_ylabel("%")
    axes.set_ylim(0, 101)
    axes.set_title(title)
    axes.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    return _save(figure, path, plt)


def confusion_plot(truth: list[str], predicted: list[str], path: str | Path, *, title: str) -> Path:
    """Write a confusion-matrix PNG (rows: true intent, columns: predicted; row-normalised)."""
    plt = _pyplot()
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
    return _save(figure, path, plt)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and workers
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str | Path, plt) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _percent(value: float) -> float:
    return round(100 * float(value), 2)
