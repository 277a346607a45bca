# The product's rule on CLINC150, on the scores cached by oos_rules.py [oos]: probability + a × similarity (mean
# cosine of the 10 nearest training examples, last layer) − b × cosine to the nearest oos_train message, (a, b) and
# the threshold chosen together on val + oos_val by the paper's accuracy, as evaluate_intents does.
# Usage: PYTHONPATH=. .venv/bin/python docs/experiments/oos_grid.py [oos]
# ruff: noqa: E402
import itertools
import sys

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

MODE = "-oos" if sys.argv[1:] == ["oos"] else ""
d = dataset_load("clinc150", "../shared/datasets")
L = dict(np.load(f"/work/cache/oos/logits-3456-c10-w2{MODE}.npz"))
classes = L.pop("classes")
S: dict[str, dict[str, np.ndarray]] = {}
for key, value in np.load(f"/work/cache/oos/scores{MODE}.npz").items():
    name, _, p = key.rpartition(":")
    S.setdefault(name, {})[p] = value
pred = {p: classes[v.argmax(1)] for p, v in L.items()}
val_correct = pred["va"] == np.asarray(d.validation.intents)
test_correct = pred["te"] == np.asarray(d.test.intents)
for a, b in itertools.product((0.0, 0.5, 1.0, 2.0, 3.0), (0.0, 0.5, 1.0, 2.0, 3.0)):
    s = {p: np.where(pred[p] == "out_of_scope", -np.inf, S["pmax"][p] + a * S["knn10/6"][p] + b * S["-oos1/6"][p])
         for p in ("va", "te", "ova", "ote")}  # fmt: skip
    t = threshold_on_validation(val_correct, s["va"], s["ova"])
    paper = (np.sum(val_correct & (s["va"] >= t)) + np.sum(s["ova"] < t)) / 3100
    print(f"a={a} b={b} val {100 * paper:.2f}", out_of_scope_report(test_correct, s["te"], s["ote"], t), flush=True)
