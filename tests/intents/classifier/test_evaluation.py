"""evaluate_intents on small slices of the real benchmarks (the full runs are in docs/evaluation.md)."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from intents.classifier.datasets import dataset_load
from intents.classifier.head import EVIDENCE
from intents.classifier.metrics import threshold_on_validation

DATA_DIR = Path(__file__).resolve().parents[4] / "shared" / "datasets"  # ../shared/datasets beside the repository
KEYS = {"dataset", "accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "train_seconds", "backend"}
pytestmark = pytest.mark.skipif(not DATA_DIR.is_dir(), reason="the shared datasets are not on this machine")


def evaluate(tmp_path: Path, dataset: str, *extra: str) -> dict:
    out = tmp_path / f"{dataset}.json"
    call_command(
        "evaluate_intents", "--dataset", dataset, "--data-dir", str(DATA_DIR), "--json", str(out),
        "--plot", str(tmp_path / f"{dataset}.png"), "--verbosity", "0", *extra,
    )  # fmt: skip
    return json.loads(out.read_text())


def test_clinc150_slice_reports_in_scope_accuracy_and_out_of_scope_recall(tmp_path):
    """CLINC150 gets the required keys, percentages, a threshold chosen on validation, and a PNG plot.

    With --oos-train its out-of-scope training messages are one more intent, which never counts as a right answer.
    """
    result = evaluate(tmp_path, "clinc150", "--per-intent", "4", "--no-tune", "--oos-train")
    assert KEYS <= result.keys() and result["dataset"] == "clinc150" and result["backend"] == "torch"
    assert result["oos_train"] is True and "out_of_scope" not in result["per_intent"]
    assert 50 < result["accuracy"] <= 100 and 0 <= result["oos_recall"] <= 100
    assert result["in_scope_accuracy"] <= result["accuracy"]  # a rejected in-scope message counts as wrong
    assert len(result["per_intent"]) == 150
    rules = result["oos_rule"]
    rule = rules["chosen_on_validation"]
    assert (
        len(rule["weights"]) == len(EVIDENCE) == len(rules["evidence"]) and rule["oos_recall"] == result["oos_recall"]
    )
    assert rules["probability_only"]["weights"] == [1.0, 0.0, 0.0, 0.0]
    assert rules["probability_only"]["in_scope_accuracy"] <= result["accuracy"]
    assert rules["calibrated_at_training"]["threshold"] == round(result["calibrated_threshold"], 4)
    assert (tmp_path / "clinc150.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_banking77_slice_tunes_on_validation_and_has_no_out_of_scope_figures(tmp_path):
    """Banking77 has no out-of-scope split: oos_recall is null; the head's settings, the number of encoder
    layers pooled included, come from validation."""
    result = evaluate(tmp_path, "banking77", "--per-intent", "4")
    assert KEYS <= result.keys() and result["oos_recall"] is None
    assert {row["layers"] for row in result["tuning"]} == {1, 4}
    assert result["in_scope_accuracy"] == result["accuracy"]
    assert len(result["tuning"]) > 1 and result["head_config"] in [
        {k: v for k, v in row.items() if k != "validation_accuracy"} for row in result["tuning"]
    ]


def test_spanish_slice_runs_on_the_onnx_int8_backend(tmp_path):
    """--backend onnx-int8 serves the test split with the quantized encoder and says so."""
    result = evaluate(tmp_path, "multilingual_tod_es", "--per-intent", "6", "--no-tune", "--backend", "onnx-int8")
    assert result["backend"] == "onnx-int8" and result["accuracy"] > 50


def test_banking77_validation_is_carved_from_train_and_given_back_for_the_final_fit():
    """Banking77 has no validation split: 10 % of train per intent, disjoint from the rest, back in the final fit."""
    data = dataset_load("banking77", DATA_DIR)
    assert set(data.train.texts).isdisjoint(data.validation.texts)
    assert len(data.final_train()) == 10003 and len(data.test) == 3080
    assert set(data.validation.intents) == set(data.train.intents)


def test_threshold_on_validation_maximises_accuracy_over_both_sets():
    """The paper's rule: each validation message counts once, out-of-scope ones right when rejected."""
    correct = np.array([True, True, True, False])
    confidence = np.array([0.9, 0.8, 0.5, 0.4])
    oos = np.array([0.3, 0.45, 0.6])
    threshold = threshold_on_validation(correct, confidence, oos)
    assert 0.45 < threshold <= 0.5  # keeps all three right answers, rejects two of three unknowns


def test_few_shot_draws_report_mean_and_spread(tmp_path):
    """--examples-per-intent N --draws K: K seeded draws of N training examples per intent, each model trained with
    the bots' default settings; each draw's accuracy, their mean and their spread."""
    result = evaluate(
        tmp_path, "multilingual_tod_es", "--per-intent", "12", "--examples-per-intent", "3", "--draws", "2"
    )
    assert result["examples_per_intent"] == 3 and [run["seed"] for run in result["draws"]] == [0, 1]
    accuracies = [run["accuracy"] for run in result["draws"]]
    assert all(run["n_train"] <= 3 * 12 for run in result["draws"])
    assert result["accuracy"] == round(float(np.mean(accuracies)), 2) and result["accuracy_std"] >= 0
    assert result["accuracy_min"] == min(accuracies) and 30 < result["accuracy"] <= 100


def test_few_shot_draws_are_fixed_by_their_seed():
    """A draw is the same for the same seed, another for another seed, and has N examples of every intent."""
    train = dataset_load("banking77", DATA_DIR).final_train()
    first, again, other = train.sample_per_intent(10, 0), train.sample_per_intent(10, 0), train.sample_per_intent(10, 1)
    assert first == again and first.texts != other.texts
    assert len(first) == 770 and set(np.unique(first.intents, return_counts=True)[1]) == {10}


def test_few_shot_options_are_checked(tmp_path):
    """A few-shot run trains the bots' untuned default: contradictory or empty options change nothing and say why."""
    from django.core.management.base import CommandError

    for extra in (("--examples-per-intent", "0"), ("--examples-per-intent", "5", "--no-tune")):
        with pytest.raises(CommandError):
            evaluate(tmp_path, "banking77", *extra)
    assert not (tmp_path / "banking77.json").exists()
