# Threshold rules an operator can read, on CLINC150's cached scores (oos_rules.py's caches: the benchmark's head,
# top four layers, C=10, dense weight 2, train split only). Weights and thresholds come from validation only
# (val + oos_val; oos_train where a score says so); test + oos_test are only reported, for every rule.
# Rules, fixed before any test figure was seen:
#   paper      Larson et al.: the best accuracy over val + oos_val together (what evaluate_intents does now);
#   loss X     the highest threshold whose in-scope validation accuracy (a rejection counts wrong) is at most
#              X points below the accuracy without rejection, X = 0.25 / 0.5 / 1;
#   reject F   the highest threshold that turns away at most F % of the in-scope validation messages, F = 1 / 2 / 3.
# Weights: head.rejection_weights (balanced logistic regression, the shipped fit) on val's right answers against
# oos_val (and, without `oos`, also against oos_val + oos_train). Each score also gets its ceiling, read off test
# (not a rule): the highest oos_test recall any threshold reaches while test in-scope accuracy stays >= 96.3; when
# it is below 80, no threshold rule can meet the bar.
# Usage: PYTHONPATH=. .venv/bin/python docs/experiments/oos_thresholds.py [oos]
# writes /work/cache/oos/thresholds[-oos].json.
# ruff: noqa: E731
import json
import sys

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.head import rejection_weights
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

CACHE = "/work/cache/oos"
MODE = "-oos" if sys.argv[1:] == ["oos"] else ""
P = ("va", "te", "ova", "ote", "otr")
d = dataset_load("clinc150", "../shared/datasets")
L = dict(np.load(f"{CACHE}/logits-3456-c10-w2{MODE}.npz"))
classes = L.pop("classes")
pred = {p: classes[L[p].argmax(1)] for p in P}
val_correct = pred["va"] == np.asarray(d.validation.intents)
test_correct = pred["te"] == np.asarray(d.test.intents)
S: dict[str, dict[str, np.ndarray]] = {}
for key, value in np.load(f"{CACHE}/scores{MODE}.npz").items():
    name, _, p = key.rpartition(":")
    S.setdefault(name, {})[p] = value
S["oos_similarity"] = {p: -S["-oos1/6"][p] for p in P}  # cosine to the nearest oos_train message, as head.EVIDENCE

SETS = {
    "probability alone": ("pmax",),
    "probability + similarity": ("pmax", "knn10/6"),
    "shipped four evidence": ("pmax", "maxlogit", "knn10/6", "oos_similarity"),
    "probability + similarity + oos similarity": ("pmax", "knn10/6", "oos_similarity"),
    "four + WordLlama similarity": ("pmax", "maxlogit", "knn10/6", "knn10/wordllama", "oos_similarity"),
    "four + relative Mahalanobis": ("pmax", "maxlogit", "knn10/6", "relmaha/6", "oos_similarity"),
    "all seven": ("pmax", "maxlogit", "knn10/6", "knn10/wordllama", "knn10/char", "relmaha/6", "oos_similarity"),
}


def scores(names: tuple[str, ...], negatives: tuple[str, ...]) -> dict[str, np.ndarray]:
    rows = {p: np.stack([S[n][p] for n in names], 1) for p in P}
    weights = np.asarray(rejection_weights(rows["va"][val_correct], np.vstack([rows[p] for p in negatives])))
    rejected = {p: pred[p] == "out_of_scope" for p in P}  # the head's own out_of_scope intent (oos mode)
    return {p: np.where(rejected[p], -np.inf, rows[p] @ weights) for p in P}, weights


def loss_threshold(s: dict[str, np.ndarray], points: float) -> float:
    """The highest threshold whose validation in-scope accuracy loses at most `points` against no rejection."""
    candidates = np.unique(s["va"][np.isfinite(s["va"])])[::-1]
    kept = (val_correct[None, :] & (s["va"][None, :] >= candidates[:, None])).mean(1)
    allowed = kept >= val_correct.mean() - points / 100 - 1e-12
    return float(candidates[np.argmax(allowed)])


def rejection_threshold(s: dict[str, np.ndarray], percent: float) -> float:
    """The highest threshold that turns away at most `percent` % of validation's in-scope messages."""
    ordered = np.sort(s["va"])
    allowed = int(np.floor(len(ordered) * percent / 100))
    return float(ordered[allowed])


def test_ceiling(s: dict[str, np.ndarray]) -> dict[str, float]:
    """The best test figures any threshold gives at in-scope accuracy >= 96.3: a ceiling, never a choice."""
    candidates = np.unique(s["te"][np.isfinite(s["te"])])
    kept = (test_correct[None, :] & (s["te"][None, :] >= candidates[:, None])).mean(1)
    return out_of_scope_report(test_correct, s["te"], s["ote"], float(candidates[kept >= 0.963][-1]))


RULES = {
    "paper": lambda s: threshold_on_validation(val_correct, s["va"], s["ova"]),
    **{f"loss {x}": (lambda s, x=x: loss_threshold(s, x)) for x in (0.25, 0.5, 1.0)},
    **{f"reject {f}%": (lambda s, f=f: rejection_threshold(s, f)) for f in (1, 2, 3)},
}
rows = {}
print(f"validation in-scope accuracy without rejection {100 * val_correct.mean():.2f}, "
      f"test {100 * test_correct.mean():.2f}")  # fmt: skip
FITS = {"": ("ova",)} if MODE else {"": ("ova",), ", fit on oos_val + oos_train": ("ova", "otr")}
for (label, names), (fit, negatives) in ((a, b) for a in SETS.items() for b in FITS.items()):
    if fit and len(names) == 1:
        continue
    s, weights = scores(names, negatives)
    label += fit
    for rule, choose in RULES.items():
        t = choose(s)
        val = out_of_scope_report(val_correct, s["va"], s["ova"], t)
        test = out_of_scope_report(test_correct, s["te"], s["ote"], t)
        rows[f"{label} | {rule}"] = {"weights": [round(float(w), 4) for w in weights], "validation": val, "test": test}
        print(f"{label:70s} {rule:12s} val {val['in_scope_accuracy']:6.2f} / {val['oos_recall']:5.1f}   "
              f"test {test['in_scope_accuracy']:6.2f} / {test['oos_recall']:5.1f}", flush=True)  # fmt: skip
    top = test_ceiling(s)
    rows[f"{label} | ceiling on test (not a rule)"] = {"weights": [round(float(w), 4) for w in weights], "test": top}
    print(f"{label:70s} {'ceiling':12s} {'':21s}test {top['in_scope_accuracy']:6.2f} / {top['oos_recall']:5.1f}")
json.dump(rows, open(f"{CACHE}/thresholds{MODE}.json", "w"), indent=1)
