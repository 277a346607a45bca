"""Linear softmax heads (logistic regression, or a linear SVM with a fitted temperature), the out-of-scope score
and its threshold calibration.

sklearn fits the weights; inference is plain numpy so a saved head is just two
arrays and a list of class names.

A message is rejected when its rejection score, a weighted sum of four pieces of evidence (EVIDENCE), falls
below the threshold: the top-1 probability, the top logit, the similarity (mean cosine of its sentence embedding
to its nearest in-scope training examples) and the cosine to the nearest out-of-scope example the model was given.
An unknown request can still get a confident softmax (the head must put its mass somewhere) while sitting far
from every example, or close to a known unknown. A logistic regression weighs the evidence, fitted on held-out
messages known to be in or out of scope (rejection_weights); on CLINC150 (docs/evaluation.md) the sum keeps more
in-scope answers at the same out-of-scope recall than the probability alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

MAX_ITER = 300
SVM_MAX_ITER = 5_000
CV_FOLDS = 5
# Calibration folds cost one extra fit each; above this size three folds already
# give thousands of held-out confidences, plenty for one threshold.
LARGE_DATASET = 3_000
# Used only when no intent can be hidden (two-intent bots): the share of correct
# held-out predictions the threshold may reject.
REJECT_QUANTILE = 0.05
# Turning away a question the bot could answer costs more than answering an
# unknown one with its best guess. At 2, CLINC150 rejects 6.8 % of in-scope test
# messages and catches 92.7 % of its out-of-scope ones (docs/evaluation.md).
IN_SCOPE_WEIGHT = 2.0
# Bounds keep the probability-only rule sane on tiny bots (all folds perfect) and hard ones.
THRESHOLD_FLOOR, THRESHOLD_CEILING = 0.15, 0.9
# The rejection score's evidence, in the order of its weights.
EVIDENCE = ("confidence", "max_logit", "similarity", "oos_similarity")
PROBABILITY_ONLY = (1.0, 0.0, 0.0, 0.0)  # the rule of models without stored examples, and of two-intent bots
# Nearest training examples averaged: one alone is a noisier witness (CLINC150 validation).
NEIGHBOURS = 10


@dataclass
class LinearHead:
    classes: list[str]
    weights: np.ndarray  # (n_classes, n_features)
    bias: np.ndarray  # (n_classes,)

    @classmethod
    def fit(
        cls, features: sp.spmatrix, labels: list[str], *, c: float, seed: int, kind: str = "logreg",
        temperature: float = 1.0,
    ) -> LinearHead:
        """`kind` logreg: a logistic regression. svm: a linear SVM (one-vs-rest), whose margins times
        `temperature` (see svm_temperature) are the logits; the temperature is folded into the weights."""
        if kind == "svm":
            model = LinearSVC(C=c, random_state=seed, max_iter=SVM_MAX_ITER).fit(features, labels)
        elif kind == "logreg":
            model = LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed).fit(features, labels)
        else:
            raise ValueError(f"head kind must be logreg or svm, got {kind!r}")
        weights, bias = model.coef_ * temperature, model.intercept_ * temperature
        if len(model.classes_) == 2:
            # sklearn keeps one row for two classes; softmax over [-z/2, z/2] equals sigmoid(z).
            weights = np.vstack([-weights[0] / 2, weights[0] / 2])
            bias = np.array([-bias[0] / 2, bias[0] / 2])
        return cls([str(c) for c in model.classes_], weights.astype(np.float32), bias.astype(np.float32))

    def logits(self, features: sp.spmatrix | np.ndarray) -> np.ndarray:
        return np.asarray(features @ self.weights.T) + self.bias

    def predict_proba(self, features: sp.spmatrix | np.ndarray) -> np.ndarray:
        return softmax(self.logits(features))


def softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def evidence(logits: np.ndarray, similarity: np.ndarray, oos_similarity: np.ndarray) -> np.ndarray:
    """One row of EVIDENCE per message, from the head's logits and the two similarities."""
    return np.stack([softmax(logits).max(axis=1), logits.max(axis=1), similarity, oos_similarity], axis=1)


def svm_temperature(features: sp.spmatrix, labels: list[str], *, c: float, seed: int) -> float:
    """The scale that turns a linear SVM's margins into probabilities: it minimises the log-loss of
    softmax(t × margins) over held-out margins (three folds), so confidences mean what a logistic head's do."""
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    folds = min(3, int(counts.min()))
    if folds < 2:
        return 1.0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    margins = cross_val_predict(
        LinearSVC(C=c, random_state=seed, max_iter=SVM_MAX_ITER), features, y, cv=splitter, method="decision_function"
    )
    if margins.ndim == 1:  # two classes: one margin, for the second
        margins = np.stack([-margins / 2, margins / 2], axis=1)
    truth = np.searchsorted(classes, y)

    def log_loss(t: float) -> float:
        logits = t * margins
        logits = logits - logits.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(y)), truth]))

    return float(minimize_scalar(log_loss, bounds=(0.1, 100.0), method="bounded").x)


def nearest_similarity(queries: np.ndarray, memory: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Mean cosine of each unit-length query to its `k` nearest rows of `memory` (unit-length too)."""
    if len(memory) == 0:
        return np.zeros(len(queries), dtype=np.float32)
    k = min(k, len(memory))
    out = np.empty(len(queries), dtype=np.float32)
    for start in range(0, len(queries), 1024):  # bounds the cosine matrix on large training sets
        cosines = queries[start : start + 1024] @ memory.T
        out[start : start + 1024] = np.partition(cosines, len(memory) - k, axis=1)[:, -k:].mean(axis=1)
    return out


def nearest_oos_similarity(queries: np.ndarray, oos_memory: np.ndarray) -> np.ndarray:
    """Cosine of each unit-length query to its nearest out-of-scope example; 0 when there is none."""
    return nearest_similarity(queries, oos_memory, k=1)


def rejection_score(evidence: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """In-scope evidence weighed: a message is rejected below the threshold on this."""
    return np.asarray(evidence, dtype=np.float64) @ np.asarray(weights, dtype=np.float64)


def rejection_weights(accepted: np.ndarray, rejected: np.ndarray) -> tuple[float, ...]:
    """EVIDENCE's weights: a logistic regression (balanced classes) separating evidence rows of messages to
    accept (held-out, in scope and rightly classified) from rows of messages to reject (out of scope), on
    standardised evidence, scaled back so the weights apply to raw evidence; the probability's weight is 1 when
    positive, so the others read as multiples of it."""
    if len(accepted) == 0 or len(rejected) == 0:
        return PROBABILITY_ONLY
    rows = np.vstack([accepted, rejected])
    scaler = StandardScaler().fit(rows)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(
        scaler.transform(rows), np.r_[np.ones(len(accepted)), np.zeros(len(rejected))]
    )
    weights = model.coef_[0] / scaler.scale_
    if weights[0] > 0:
        weights = weights / weights[0]
    return tuple(round(float(w), 6) for w in weights)


@dataclass
class Calibration:
    """Held-out predictions of the training examples, one row each: their EVIDENCE; whether the fold's head
    predicted an intent that is not remembered (the bot's out-of-scope intent: always rejected); whether the
    example is out of scope for its fold (its intent hidden from the fold, or not remembered) and, for the
    others, whether the fold's head named its intent."""

    evidence: np.ndarray
    rejected_by_intent: np.ndarray
    out_of_scope: np.ndarray
    correct: np.ndarray

    def scores(self, weights: tuple[float, ...]) -> np.ndarray:
        return np.where(self.rejected_by_intent, -np.inf, rejection_score(self.evidence, weights))


@dataclass(frozen=True)
class Rejection:
    threshold: float
    weights: tuple[float, ...]  # one per EVIDENCE


def cross_val_confidence(
    features: sp.csr_matrix,
    labels: list[str],
    *,
    c: float,
    seed: int,
    sentence: np.ndarray,
    remembered: np.ndarray,
    kind: str = "logreg",
    temperature: float = 1.0,
) -> Calibration:
    """Cross-validate with each fold also leaving out a group of intents.

    Examples of a left-out intent stand in for real out-of-scope messages, which a
    bot's training data rarely contains: they are fluent, on-topic and still unknown
    to the model, so the threshold learns what "unknown" looks like at no extra cost.
    Examples that are not `remembered` (the bot's out-of-scope intent) are out of scope in every fold.
    Similarities are to the fold's training examples that are `remembered` (rows of `sentence`).
    """
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    folds = min(3 if len(y) > LARGE_DATASET else CV_FOLDS, int(counts.min()))
    if folds < 2:
        return Calibration(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    rng = np.random.default_rng(seed)
    # An intent's group is the fold that hides it; at least two intents must stay in every fold.
    group = dict(zip(rng.permutation(classes), np.arange(len(classes)) % folds))
    can_hide = len(classes) - int(np.ceil(len(classes) / folds)) >= 2
    hidden_in = np.array([group[label] if can_hide else -1 for label in y])
    rejecting = list(set(y[~remembered]))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in Calibration.__dataclass_fields__}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(np.zeros(len(y)), y)):
        train_idx = train_idx[hidden_in[train_idx] != fold]
        seen, unseen = test_idx[hidden_in[test_idx] != fold], np.flatnonzero(hidden_in == fold)
        scored = np.concatenate([seen, unseen])  # an example of a hidden intent is scored in both roles
        head = LinearHead.fit(
            features[train_idx], list(y[train_idx]), c=c, seed=seed, kind=kind, temperature=temperature
        )
        logits = head.logits(features[scored])
        predicted = np.asarray(head.classes)[logits.argmax(axis=1)]
        out_of_scope = np.concatenate([~remembered[seen], np.ones(len(unseen), dtype=bool)])
        memory, oos_memory = (sentence[train_idx[mask[train_idx]]] for mask in (remembered, ~remembered))
        parts["evidence"].append(evidence(
            logits, nearest_similarity(sentence[scored], memory), nearest_oos_similarity(sentence[scored], oos_memory)
        ))  # fmt: skip
        parts["rejected_by_intent"].append(np.isin(predicted, rejecting))
        parts["out_of_scope"].append(out_of_scope)
        parts["correct"].append((predicted == y[scored]) & ~out_of_scope)
    return Calibration(**{name: np.concatenate(values) for name, values in parts.items()})


def calibrate_threshold(calibration: Calibration, n_classes: int) -> Rejection:
    """The evidence's weights, and the score below which a prediction is reported out of scope.

    The weights separate correct in-scope predictions (accept) from out-of-scope messages (reject); the threshold
    best separates them on the weighted score, with in-scope mistakes weighted by IN_SCOPE_WEIGHT.
    """
    floor = max(THRESHOLD_FLOOR, 1.5 / n_classes)  # a clear margin over a uniform guess
    correct = calibration.correct
    if not correct.any():
        return Rejection(floor, PROBABILITY_ONLY)
    if not calibration.out_of_scope.any():
        threshold = float(np.quantile(calibration.evidence[correct, 0], REJECT_QUANTILE))
        return Rejection(float(np.clip(threshold, floor, THRESHOLD_CEILING)), PROBABILITY_ONLY)
    scored = ~calibration.rejected_by_intent
    weights = rejection_weights(
        calibration.evidence[correct & scored], calibration.evidence[calibration.out_of_scope & scored]
    )
    scores = calibration.scores(weights)
    accepted, unseen = scores[correct], scores[calibration.out_of_scope]
    candidates = np.unique(accepted)
    kept = (accepted[None, :] >= candidates[:, None]).mean(axis=1)
    rejected = (unseen[None, :] < candidates[:, None]).mean(axis=1)
    return Rejection(float(candidates[np.argmax(IN_SCOPE_WEIGHT * kept + rejected)]), weights)
