"""Benchmark runs and per-model reports: train on one split, report on another.

Both return plain dicts (JSON-safe) so a command can print them and a registry can store them.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from .datasets import Dataset, Split
from .encoder import get_encoder, top_layers
from .finetune import EncoderTuning
from .features import CHAR_PARAMS, WORD_PARAMS, combine, fit_vectorizer, tfidf_transform
from .head import EVIDENCE, PROBABILITY_ONLY, LinearHead, rejection_score, rejection_weights
from .metrics import (
    classification_report,
    confusion_plot,
    out_of_scope_curve,
    out_of_scope_report,
    threshold_on_validation,
    threshold_plot,
)
from .model import BOT_HEAD_CONFIG, OUT_OF_SCOPE_INTENT, HeadConfig, IntentClassifier, Prediction
from .tuning import grid_layers, head_config_select

Progress = Callable[[str, float], None]


def benchmark_run(
    dataset: Dataset,
    *,
    backend: str = "torch",
    tune: bool = True,
    encoder_path: str | None = None,
    plot_path: str | Path | None = None,
    oos_train: bool = False,
    encoder_tuning: EncoderTuning | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Tune on validation (optional), train on train, report on test with the chosen `backend`.

    `oos_train` adds the dataset's out-of-scope training messages as one more intent, whose
    prediction counts as a rejection. `encoder_tuning` fine-tunes the encoder for the final model (the head's
    settings are still chosen on the frozen encoder's vectors).
    """
    report = progress or (lambda stage, fraction: None)
    if oos_train and dataset.oos_train:
        extra = Split(dataset.oos_train, [OUT_OF_SCOPE_INTENT] * len(dataset.oos_train))
        train = Split(dataset.train.texts + extra.texts, dataset.train.intents + extra.intents)
        dataset = dataclasses.replace(dataset, train=train)
    encoder = get_encoder(encoder_path)
    config, tuning, tune_seconds, embed_seconds, train_embeddings = BOT_HEAD_CONFIG, [], 0.0, 0.0, None
    if tune and len(dataset.validation):
        report("tuning", 0.05)
        started = time.monotonic()
        train_embeddings = encoder.encode(dataset.train.texts, layers=grid_layers(encoder))
        embed_seconds = time.monotonic() - started
        config, tuning = head_config_select(
            encoder=encoder, train=(dataset.train.texts, dataset.train.intents),
            validation=(dataset.validation.texts, dataset.validation.intents), train_embeddings=train_embeddings,
        )  # fmt: skip
        tune_seconds = time.monotonic() - started
        train_embeddings = top_layers(train_embeddings, config.layers, encoder.dimension)
    final = dataset.final_train()
    report("training", 0.4)
    started = time.monotonic()
    classifier = IntentClassifier.train(
        texts=final.texts, intents=final.intents, languages=[dataset.language] * len(final), config=config,
        encoder_path=encoder_path, encoder_tuning=encoder_tuning,
        embeddings=None if dataset.validation_from_train or encoder_tuning else train_embeddings,
    )  # fmt: skip
    train_seconds = time.monotonic() - started
    if train_embeddings is not None and not dataset.validation_from_train and not encoder_tuning:
        train_seconds += embed_seconds  # training reused the embeddings computed for tuning
    with tempfile.TemporaryDirectory() as tmp:
        classifier.save(Path(tmp) / "model")
        served = IntentClassifier.load(Path(tmp) / "model", backend=backend, onnx_cache=Path(tmp) / "onnx")
        report("testing", 0.7)
        result = _test(served, dataset, plot_path)
    return {
        "dataset": dataset.name, "backend": backend, "train_seconds": round(train_seconds, 1),
        "tune_seconds": round(tune_seconds, 1), "head_config": config.as_dict(), "tuning": tuning,
        "n_train": len(final), "n_test": len(dataset.test), "calibrated_threshold": classifier.threshold,
        "oos_train": bool(oos_train and dataset.oos_train), "encoder_tuned": classifier.encoder_tuned, **result,
    }  # fmt: skip


def few_shot_run(
    dataset: Dataset,
    *,
    examples_per_intent: int,
    draws: int = 3,
    backend: str = "torch",
    encoder_path: str | None = None,
    encoder_tuning: EncoderTuning | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """What a bot with `examples_per_intent` examples of each intent gets: for each of `draws` seeds (0, 1, …),
    that many training examples per intent drawn from the whole train split, a model trained with the bots'
    default settings (no tuning: a small bot has no validation split), its accuracy on the in-scope test split.

    Accuracy is the top intent's, before any out-of-scope rejection.
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    report = progress or (lambda stage, fraction: None)
    pool, runs = dataset.final_train(), []
    for seed in range(draws):
        sample = pool.sample_per_intent(examples_per_intent, seed)
        report(f"draw {seed + 1} of {draws}", seed / draws)
        started = time.monotonic()
        classifier = IntentClassifier.train(
            texts=sample.texts, intents=sample.intents, languages=[dataset.language] * len(sample), seed=seed,
            encoder_path=encoder_path, encoder_tuning=encoder_tuning,
        )  # fmt: skip
        train_seconds = time.monotonic() - started
        with tempfile.TemporaryDirectory() as tmp:
            classifier.save(Path(tmp) / "model")
            served = IntentClassifier.load(Path(tmp) / "model", backend=backend, onnx_cache=Path(tmp) / "onnx")
            predicted = [p.intent for p in served.predict(dataset.test.texts)]
        scores = classification_report(dataset.test.intents, predicted)
        runs.append({
            "seed": seed, "n_train": len(sample), "accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"],
            "train_seconds": round(train_seconds, 1), "head_config": classifier.config.as_dict(),
            "encoder_tuned": classifier.encoder_tuned,
        })  # fmt: skip
    accuracy, macro_f1 = (np.array([run[key] for run in runs]) for key in ("accuracy", "macro_f1"))
    return {
        "dataset": dataset.name, "backend": backend, "examples_per_intent": examples_per_intent, "draws": runs,
        "n_test": len(dataset.test), "accuracy": round(float(accuracy.mean()), 2),
        "accuracy_std": round(float(accuracy.std(ddof=1)) if draws > 1 else 0.0, 2),
        "accuracy_min": float(accuracy.min()), "accuracy_max": float(accuracy.max()),
        "macro_f1": round(float(macro_f1.mean()), 2),
        "train_seconds": round(float(np.mean([run["train_seconds"] for run in runs])), 1),
    }  # fmt: skip


def _test(classifier: IntentClassifier, dataset: Dataset, plot_path: str | Path | None) -> dict[str, Any]:
    started = time.monotonic()
    predictions = classifier.predict(dataset.test.texts)
    ms_per_text = 1000 * (time.monotonic() - started) / max(len(dataset.test), 1)
    predicted = [p.intent for p in predictions]
    result = {**classification_report(dataset.test.intents, predicted), "ms_per_text": round(ms_per_text, 2)}
    result.update(in_scope_accuracy=result["accuracy"], oos_recall=None)
    if dataset.oos_test:
        result.update(_out_of_scope(classifier, dataset, predictions))
    if plot_path:
        confusion_plot(dataset.test.intents, predicted, plot_path, title=f"{dataset.name} test ({classifier.backend})")
        result["plot"] = str(plot_path)
    return result


def _out_of_scope(classifier: IntentClassifier, dataset: Dataset, predictions: list) -> dict[str, Any]:
    """Evidence weights and threshold chosen on validation + out-of-scope validation, then applied to test.

    The weights separate validation messages answered right from out-of-scope ones (head.rejection_weights); the
    threshold follows Larson et al.: the best accuracy over both validation sets together.
    """
    val = classifier.predict(dataset.validation.texts)
    val_correct = np.array([p.intent == t for p, t in zip(val, dataset.validation.intents)])
    oos_val = classifier.predict(dataset.oos_validation)
    correct = np.array([p.intent == t for p, t in zip(predictions, dataset.test.intents)])
    oos_test = classifier.predict(dataset.oos_test)
    scored = [p for p, right in zip(val, val_correct) if right and p.intent != OUT_OF_SCOPE_INTENT]
    unknown = [p for p in oos_val if p.intent != OUT_OF_SCOPE_INTENT]
    weights = rejection_weights(np.array([p.evidence for p in scored]), np.array([p.evidence for p in unknown]))

    def rule(weights: tuple[float, ...], threshold: float | None = None) -> dict[str, Any]:
        """The rule's figures on test; its threshold chosen on validation unless given."""
        if threshold is None:
            threshold = threshold_on_validation(val_correct, _acceptance(val, weights), _acceptance(oos_val, weights))
        figures = out_of_scope_report(
            correct, _acceptance(predictions, weights), _acceptance(oos_test, weights), threshold
        )
        return {"weights": [round(w, 4) for w in weights], **figures}

    chosen = rule(weights)
    return {
        "in_scope_accuracy": chosen["in_scope_accuracy"],
        "oos_recall": chosen["oos_recall"],
        "oos_rule": {"evidence": list(EVIDENCE), "chosen_on_validation": chosen,
                     "trained_weights_threshold_on_validation": rule(classifier.rejection_weights),
                     "calibrated_at_training": rule(classifier.rejection_weights, classifier.threshold),
                     "probability_only": rule(PROBABILITY_ONLY)},
    }  # fmt: skip


def _acceptance(predictions: list[Prediction], weights: tuple[float, ...]) -> np.ndarray:
    """Rejection score of each prediction: -inf where the out-of-scope intent won."""
    return np.array(
        [
            -np.inf if p.intent == OUT_OF_SCOPE_INTENT else float(rejection_score(p.evidence, weights))
            for p in predictions
        ]
    )


def cross_validation_report(
    *,
    texts: list[str],
    intents: list[str],
    languages: list[str],
    embeddings: np.ndarray,
    config: HeadConfig,
    plot_path: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """A bot's report: every example predicted by a head that never saw it (stratified k-fold).

    A bot has no test split, and a small one cannot spare one; folds use every example
    once for testing. The encoder is frozen, so `embeddings` are computed once by the caller.
    """
    y = np.asarray(intents)
    folds = int(min(5, np.unique(y, return_counts=True)[1].min()))
    if folds < 2:
        return {"skipped": "every intent needs at least 2 examples for cross-validation"}
    predicted = np.empty(len(y), dtype=object)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        train_texts, test_texts = [texts[i] for i in train_idx], [texts[i] for i in test_idx]
        word_train, word_test = config.word_texts(train_texts), config.word_texts(test_texts)
        word, char = fit_vectorizer(word_train, WORD_PARAMS), fit_vectorizer(train_texts, CHAR_PARAMS)
        features = combine(
            embeddings[train_idx], tfidf_transform(word, word_train), tfidf_transform(char, train_texts),
            config.weights, config.token_block(train_texts),
        )  # fmt: skip
        # The SVM's temperature does not change which intent wins, so the folds do without it.
        head = LinearHead.fit(features, list(y[train_idx]), c=config.c, seed=seed, kind=config.head)
        test = combine(
            embeddings[test_idx], tfidf_transform(word, word_test), tfidf_transform(char, test_texts),
            config.weights, config.token_block(test_texts),
        )  # fmt: skip
        predicted[test_idx] = np.asarray(head.classes)[head.predict_proba(test).argmax(axis=1)]
    result = {"method": f"{folds}-fold cross-validation", **classification_report(intents, list(predicted))}
    language_of = np.asarray(languages)
    result["per_language"] = {
        language: classification_report(
            list(y[language_of == language]), list(predicted[language_of == language])
        )["accuracy"]
        for language in sorted(set(languages))
    }  # fmt: skip
    if plot_path:
        result["plot"] = str(confusion_plot(intents, list(predicted), plot_path, title="cross-validation"))
    return result


def rejection_report(classifier: IntentClassifier, *, plot_path: str | Path | None = None) -> dict[str, Any]:
    """A just-trained bot's out-of-scope figures at its threshold, and along the threshold, on the folds its rule
    was calibrated on: held-out examples of intents each fold hid, and the bot's out-of-scope examples, count as
    out of scope; the other held-out examples are in scope."""
    calibration = classifier.calibration
    if calibration is None or not calibration.out_of_scope.any() or calibration.out_of_scope.all():
        return {"skipped": "no held-out out-of-scope and in-scope examples to measure the rejection on"}
    scores = calibration.scores(classifier.rejection_weights)
    in_scope = ~calibration.out_of_scope
    curve = out_of_scope_curve(
        calibration.correct[in_scope], scores[in_scope], scores[calibration.out_of_scope], classifier.threshold
    )
    result = {"method": "calibration folds (intents hidden per fold)", "evidence": list(EVIDENCE),
              "weights": list(classifier.rejection_weights), **curve}  # fmt: skip
    if plot_path:
        result["plot"] = str(threshold_plot(curve, plot_path, title="out-of-scope rejection (calibration folds)"))
    return result
