"""The out-of-scope score: similarity to the nearest training examples, and the calibration of its weights."""

import numpy as np

from intents.classifier.head import (
    EVIDENCE,
    PROBABILITY_ONLY,
    Calibration,
    calibrate_threshold,
    nearest_similarity,
    rejection_weights,
)


def test_nearest_similarity_averages_the_k_closest_training_examples():
    """Each query scores the mean cosine of its k nearest memory rows; k is capped by the memory's size."""
    memory = np.eye(4, dtype=np.float32)
    queries = np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0]], dtype=np.float32)
    assert np.allclose(nearest_similarity(queries, memory, k=1), [1.0, 0.8])
    assert np.allclose(nearest_similarity(queries, memory, k=2), [0.5, 0.7])
    assert np.allclose(nearest_similarity(queries, memory, k=10), [0.25, 0.35])
    assert nearest_similarity(queries, memory[:0]).tolist() == [0.0, 0.0]


def _calibration(similarity_separates: bool) -> Calibration:
    """Unseen intents as confident as seen ones; far from the training examples only if `similarity_separates`,
    else every message is as close to them as any other. Logits and out-of-scope similarities tell nothing."""
    rng = np.random.default_rng(0)
    in_scope_similarity = rng.uniform(0.6, 0.9, 200) if similarity_separates else rng.uniform(0.6, 0.9, 200)
    unseen_similarity = rng.uniform(0.1, 0.4, 200) if similarity_separates else rng.uniform(0.6, 0.9, 200)
    evidence = np.stack([
        rng.uniform(0.5, 1.0, 400), rng.uniform(5, 10, 400), np.r_[in_scope_similarity, unseen_similarity],
        rng.uniform(0.2, 0.4, 400),
    ], axis=1)  # fmt: skip
    out_of_scope = np.r_[np.zeros(200, dtype=bool), np.ones(200, dtype=bool)]
    return Calibration(
        evidence=evidence, rejected_by_intent=np.zeros(400, dtype=bool), out_of_scope=out_of_scope,
        correct=~out_of_scope,
    )  # fmt: skip


def test_calibration_weighs_the_evidence_that_separates_unseen_intents():
    """When unseen intents sit far from the examples the similarity carries the score, and the threshold rejects
    most of them while keeping most in-scope messages; evidence that tells nothing gets little weight."""
    calibration = _calibration(True)
    separated = calibrate_threshold(calibration, n_classes=10)
    weights = dict(zip(EVIDENCE, separated.weights))
    assert weights["confidence"] == 1.0 and weights["similarity"] > 5 * max(abs(weights["max_logit"]), 0.2)
    scores = calibration.scores(separated.weights)
    assert np.mean(scores[:200] >= separated.threshold) > 0.9 and np.mean(scores[200:] < separated.threshold) > 0.9
    mixed = calibrate_threshold(_calibration(False), n_classes=10)
    assert abs(dict(zip(EVIDENCE, mixed.weights))["similarity"]) < weights["similarity"] / 5


def test_rejection_weights_fall_back_to_the_probability_without_both_kinds_of_examples():
    """No out-of-scope (or no in-scope) evidence: the probability alone."""
    assert rejection_weights(np.ones((3, 4)), np.zeros((0, 4))) == PROBABILITY_ONLY


def test_a_prediction_of_the_out_of_scope_intent_is_always_rejected():
    """Rows whose head predicted the out-of-scope intent score -inf, below any threshold."""
    calibration = _calibration(True)
    calibration.rejected_by_intent[[0, 250]] = True
    assert np.isneginf(calibration.scores(PROBABILITY_ONLY)[[0, 250]]).all()
