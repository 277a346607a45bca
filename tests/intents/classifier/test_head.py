"""The out-of-scope score: similarity to the nearest training examples, and its weight's calibration."""

import numpy as np

from intents.classifier.head import SIMILARITY_WEIGHTS, Calibration, calibrate_threshold, nearest_similarity


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
    else every message is as close to them as any other."""
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200)
    in_scope_similarity = rng.uniform(0.6, 0.9, 200) if similarity_separates else np.full(200, 0.7)
    unseen_similarity = rng.uniform(0.1, 0.4, 200) if similarity_separates else np.full(200, 0.7)
    out_of_scope = np.r_[np.zeros(200, dtype=bool), np.ones(200, dtype=bool)]
    return Calibration(
        confidence=np.r_[confidence, rng.uniform(0.5, 1.0, 200)], out_of_scope=out_of_scope, correct=~out_of_scope,
        similarity=np.r_[in_scope_similarity, unseen_similarity],
    )  # fmt: skip


def test_calibration_weighs_similarity_only_where_it_separates_unseen_intents():
    """When unseen intents sit far from the examples the similarity gets a weight; a similarity that tells
    nothing gets none, and the threshold stays on the probability's scale."""
    separated = calibrate_threshold(_calibration(True), n_classes=10)
    assert separated.similarity_weight > 0 and separated.similarity_weight in SIMILARITY_WEIGHTS
    mixed = calibrate_threshold(_calibration(False), n_classes=10)
    assert mixed.similarity_weight == 0.0 and 0.15 <= mixed.threshold <= 0.9
