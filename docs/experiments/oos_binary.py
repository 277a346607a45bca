# A binary in-scope/out-of-scope detector on the encoder's top four layers (logistic regression, balanced classes):
# train's in-scope examples against oos_train, optionally with synthetic outliers (the unit-length mean of two
# training examples of different intents); its log-odds added to probability + 3 × similarity with a weight
# chosen on val + oos_val by the paper's accuracy. Uses the caches of oos_cache.py and oos_rules.py.
# Usage: PYTHONPATH=. .venv/bin/python docs/experiments/oos_binary.py
# ruff: noqa: E402, E731
import numpy as np
from sklearn.linear_model import LogisticRegression

from intents.classifier.datasets import dataset_load
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

d = dataset_load("clinc150", "../shared/datasets")
Z = np.load("/work/cache/oos/clinc150-layers.npz")
L = dict(np.load("/work/cache/oos/logits-3456-c10-w2.npz"))
classes = L.pop("classes")
S: dict[str, dict[str, np.ndarray]] = {}
for key, value in np.load("/work/cache/oos/scores.npz").items():
    name, _, p = key.rpartition(":")
    S.setdefault(name, {})[p] = value
unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
emb = lambda p: np.hstack([unit(Z[p + "_mean"][k]) for k in (3, 4, 5, 6)]) / 2
pred = {p: classes[v.argmax(1)] for p, v in L.items()}
vc, tc = pred["va"] == np.asarray(d.validation.intents), pred["te"] == np.asarray(d.test.intents)
base = {p: S["pmax"][p] + 3 * S["knn10/6"][p] for p in ("va", "te", "ova", "ote")}
ytr = np.asarray(d.train.intents)
rng = np.random.default_rng(0)
tr, otr = emb("tr"), emb("otr")
for synthetic in (0, 1500, 5000):
    i, j = rng.integers(0, len(tr), (2, synthetic * 2))
    keep = ytr[i] != ytr[j]
    mixed = unit(tr[i[keep]][:synthetic] + tr[j[keep]][:synthetic]) / 1.0
    X = np.vstack([tr, otr, mixed])
    y = np.r_[np.ones(len(tr)), np.zeros(len(otr) + len(mixed))]
    model = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(X, y)
    odds = {p: model.decision_function(emb(p)) for p in ("va", "te", "ova", "ote")}
    for w in (0.0, 0.05, 0.1, 0.2, 0.5, 1.0):
        s = {p: base[p] + w * odds[p] for p in base}
        t = threshold_on_validation(vc, s["va"], s["ova"])
        paper = (np.sum(vc & (s["va"] >= t)) + np.sum(s["ova"] < t)) / 3100
        print(f"synthetic={synthetic} w={w} val {100 * paper:.2f}", out_of_scope_report(tc, s["te"], s["ote"], t),
              flush=True)  # fmt: skip
