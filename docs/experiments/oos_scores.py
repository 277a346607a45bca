# Out-of-scope scores on CLINC150 under the paper's rule (threshold by accuracy over val + oos_val, applied to
# test + oos_test), on cached layers (layers_cache.py): top-1 probability, max logit, energy, nearest training
# example (cosine), Mahalanobis distance to the class means with a shared covariance (one layer or several),
# and z-scored sums of two of them with the weight chosen on validation.
# Usage: oos_scores.py C DENSE_WEIGHT VARIANT [oos]; writes /tmp/charla-h6/oos-<variant>-<plain|oos>.json.
# ruff: noqa: E402, UP031
import json
import os
import sys

import numpy as np
from scipy.special import logsumexp

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

sys.argv += [""] * (5 - len(sys.argv))
c, dense, variant, with_oos = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4] == "oos"
d = dataset_load("clinc150", "../shared/datasets")
Z = np.load("/tmp/charla-h6/clinc150-layers.npz")
OOS = "out_of_scope"


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def layers_of(part, layers):
    return [unit(Z[part + "_mean"][int(k)]) for k in layers]


def dense_block(part):
    kind, _, layers = variant.partition(":")
    picked = layers_of(part, layers)
    return np.hstack(picked) / np.sqrt(len(picked)) if kind == "cat" else unit(np.mean(picked, axis=0))


texts = {"tr": d.train.texts, "va": d.validation.texts, "te": d.test.texts,
         "otr": d.oos_train, "ova": d.oos_validation, "ote": d.oos_test}  # fmt: skip
train_parts = ["tr", "otr"] if with_oos else ["tr"]
y_train = d.train.intents + ([OOS] * len(d.oos_train) if with_oos else [])
key = f"{variant}-c{c:g}-w{dense:g}-{'oos' if with_oos else 'plain'}"
cache = f"/tmp/charla-h6/logits-{key}.npz"
if os.path.exists(cache):
    L = dict(np.load(cache))
    classes = list(L.pop("classes"))
else:
    fit_texts = sum((texts[p] for p in train_parts), [])
    word, char = fit_vectorizer(fit_texts, WORD_PARAMS), fit_vectorizer(fit_texts, CHAR_PARAMS)

    def feats(parts):
        t = sum((texts[p] for p in parts), [])
        e = np.vstack([dense_block(p) for p in parts])
        return combine(e, word.transform(t), char.transform(t), BlockWeights(dense=dense))

    head = LinearHead.fit(feats(train_parts), y_train, c=c, seed=0)
    classes = head.classes
    L = {p: np.asarray(feats([p]) @ head.weights.T) + head.bias for p in ("va", "te", "ova", "ote")}
    np.savez(cache, classes=np.asarray(classes), **L)
cls = np.asarray(classes)
in_scope = cls != OOS
ytr = np.asarray(d.train.intents)


def mahalanobis(layers):
    """-min over classes of the squared Mahalanobis distance, per layer, summed over `layers`."""
    out = {p: 0.0 for p in L}
    for k in layers:
        x = unit(Z["tr_mean"][int(k)])
        labels, inverse = np.unique(ytr, return_inverse=True)
        means = np.stack([x[inverse == i].mean(0) for i in range(len(labels))])
        centred = x - means[inverse]
        precision = np.linalg.pinv(centred.T @ centred / len(x))
        for p in L:
            q = unit(Z[p + "_mean"][int(k)])
            dist = (
                (q @ precision * q).sum(1)[:, None] - 2 * q @ precision @ means.T + (means @ precision * means).sum(1)
            )
            out[p] = out[p] - dist.min(1) / len(layers)
    return out


def knn(layers):
    train = np.hstack(layers_of("tr", layers)) / np.sqrt(len(layers))
    return {p: (np.hstack(layers_of(p, layers)) / np.sqrt(len(layers)) @ train.T).max(1) for p in L}


scores = {}
for p, logits in L.items():
    masked = np.where(in_scope, logits, -np.inf)
    proba = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    scores.setdefault("pmax", {})[p] = proba.max(1)
    scores.setdefault("maxlogit", {})[p] = masked.max(1)
    scores.setdefault("energy", {})[p] = logsumexp(masked, axis=1)
for name, layers in (("maha6", "6"), ("maha3456", "3456"), ("maha123456", "123456")):
    scores[name] = mahalanobis(layers)
scores["knn6"] = knn("6")
scores["knn3456"] = knn("3456")

pred = {p: cls[L[p].argmax(1)] for p in L}
is_oos = {p: pred[p] == OOS for p in L}
val_correct = pred["va"] == np.asarray(d.validation.intents)
test_correct = pred["te"] == np.asarray(d.test.intents)


def evaluate(s):
    s = {p: np.where(is_oos[p], -np.inf, v) for p, v in s.items()}  # an oos-class prediction is always rejected
    t = threshold_on_validation(val_correct, s["va"], s["ova"])
    val = out_of_scope_report(val_correct, s["va"], s["ova"], t)
    kept = np.sum(val_correct & (s["va"] >= t)) + np.sum(s["ova"] < t)
    return kept / (len(s["va"]) + len(s["ova"])), val, out_of_scope_report(test_correct, s["te"], s["ote"], t)


def z(s):
    mu, sd = s["va"].mean(), s["va"].std()
    return {p: (v - mu) / sd for p, v in s.items()}


rows = {}
for name, s in scores.items():
    v, _, test = evaluate(s)
    rows[name] = {"val_paper_accuracy": round(100 * v, 2), **{f"test_{k}": x for k, x in test.items()}}
names = list(scores)
for i, a in enumerate(names):
    for b in names[i + 1 :]:
        za, zb = z(scores[a]), z(scores[b])
        best = max((evaluate({p: za[p] + lam * zb[p] for p in L})[0], lam) for lam in np.geomspace(0.05, 20, 37))
        _, _, test = evaluate({p: za[p] + best[1] * zb[p] for p in L})
        rows[f"{a}+{best[1]:.2f}*{b}"] = {
            "val_paper_accuracy": round(100 * best[0], 2),
            **{f"test_{k}": x for k, x in test.items()},
        }
print("accuracy before rejection: val %.2f test %.2f" % (100 * val_correct.mean(), 100 * test_correct.mean()))
for name, row in sorted(rows.items(), key=lambda r: -r[1]["val_paper_accuracy"])[:25]:
    print(f"{name:32s}", row)
json.dump(
    {"key": key, "val_acc": 100 * val_correct.mean(), "test_acc": 100 * test_correct.mean(), "rows": rows},
    open(f"/tmp/charla-h6/oos-{key}.json", "w"),
    indent=1,
)
