"""A model version's out-of-scope report: precision and recall at its threshold and the curve, in the admin."""

import numpy as np

from intents.classifier import IntentClassifier
from intents.selectors import training_data_for_bot
from intents.services import model_train, out_of_scope_intent_get, training_example_add

UNKNOWN = [
    "what is the capital of australia", "write me a poem about the sea", "how tall is mount everest",
    "recommend a good science fiction novel", "what is the square root of 144", "who painted the mona lisa",
    "cuál es la capital de francia", "cuéntame un chiste de gatos", "how do I bake sourdough bread",
    "what will the weather be on mars",
]  # fmt: skip


def test_a_trained_version_reports_out_of_scope_precision_and_recall_at_its_threshold(
    demo_bot, model_dir, admin_client
):
    """Training a real bot, with a few out-of-scope examples of its own, stores the rejection figures at the
    version's threshold on its calibration folds (the same figures as recomputed from an identical training);
    the version's admin page shows them and serves the threshold plot."""
    oos = out_of_scope_intent_get(bot=demo_bot)
    for text in UNKNOWN:
        training_example_add(intent=oos, text=text, language="es" if "é" in text or "ú" in text else "en")
    version = model_train(bot=demo_bot)
    rejection = version.evaluation["out_of_scope"]
    assert rejection["threshold"] == round(version.hyperparameters["threshold"], 4)
    assert rejection["weights"] == version.hyperparameters["rejection_weights"]

    data = training_data_for_bot(bot=demo_bot)
    classifier = IntentClassifier.train(texts=data.texts, intents=data.intents, languages=data.languages)
    calibration = classifier.calibration
    score = calibration.evidence @ np.asarray(classifier.rejection_weights)
    rejected = calibration.rejected_by_intent | (score < classifier.threshold)
    unknown, known = calibration.out_of_scope, ~calibration.out_of_scope
    assert unknown.sum() >= len(UNKNOWN)  # the bot's own out-of-scope examples count, with the hidden intents
    assert (rejection["n_out_of_scope"], rejection["n_in_scope"]) == (unknown.sum(), known.sum())
    assert rejection["recall"] == round(100 * rejected[unknown].mean(), 2)
    assert rejection["precision"] == round(100 * (rejected & unknown).sum() / rejected.sum(), 2)
    assert rejection["in_scope_accuracy"] == round(100 * (calibration.correct & ~rejected)[known].mean(), 2)
    assert 0 < rejection["recall"] <= 100 and 0 < rejection["precision"] <= 100
    curve = rejection["curve"]
    assert rejection["threshold"] in curve["threshold"] and curve["recall"] == sorted(curve["recall"])
    assert np.all(np.diff(curve["in_scope_accuracy"]) <= 0)  # rejecting more never answers more right

    page = admin_client.get(f"/admin/intents/modelversion/{version.pk}/change/").content.decode()
    assert f"Out of scope at the threshold {rejection['threshold']}" in page
    assert f"precision {rejection['precision']:.1f} %, recall {rejection['recall']:.1f} %" in page
    assert f"/admin/intents/modelversion/{version.pk}/rejection.png" in page
    plot = admin_client.get(f"/admin/intents/modelversion/{version.pk}/rejection.png")
    assert plot["Content-Type"] == "image/png" and b"".join(plot.streaming_content)[:4] == b"\x89PNG"
