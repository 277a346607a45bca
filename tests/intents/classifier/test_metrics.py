"""Out-of-scope figures along the threshold: what a version's report and its plot show."""

import numpy as np

from intents.classifier.metrics import out_of_scope_curve, threshold_plot


def test_out_of_scope_curve_counts_rejections_below_the_threshold():
    """Below the threshold a message is rejected: precision over the rejected, recall over the out-of-scope ones,
    and a rejected in-scope message counts as wrong."""
    correct = np.array([True, True, True, False])
    in_scope = np.array([0.9, 0.8, 0.3, 0.2])
    oos = np.array([0.1, 0.25, 0.5, -np.inf])  # -inf: the out-of-scope intent won, always rejected
    curve = out_of_scope_curve(correct, in_scope, oos, 0.35)
    assert (curve["threshold"], curve["n_in_scope"], curve["n_out_of_scope"]) == (0.35, 4, 4)
    assert curve["recall"] == 75.0 and curve["precision"] == 60.0  # 3 of 4 unknowns caught, 2 answers turned away
    assert curve["in_scope_accuracy"] == 50.0
    points = curve["curve"]
    assert 0.35 in points["threshold"] and points["threshold"] == sorted(points["threshold"])
    assert points["recall"] == sorted(points["recall"])  # a higher threshold never catches fewer
    assert (points["threshold"][0], points["recall"][0], points["precision"][0]) == (0.1, 25.0, 100.0)


def test_threshold_plot_writes_a_png(tmp_path):
    """The plot is a PNG file."""
    curve = out_of_scope_curve(np.ones(3, dtype=bool), np.array([0.9, 0.8, 0.7]), np.array([0.2, 0.75]), 0.5)
    path = threshold_plot(curve, tmp_path / "rejection.png", title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
