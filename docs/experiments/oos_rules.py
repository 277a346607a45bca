# Out-of-scope rules on CLINC150, on the cached encoder layers (oos_cache.py) and the benchmark's head
# (top four layers, C=10, dense weight 2, trained on the train split only). Every weight and threshold is chosen on
# validation data (val + oos_val, and oos_train where said); test + oos_test are only reported.
# Scores (higher = more in scope): top-1 probability, max logit, energy, mean cosine of the k nearest training
# examples, cosine to the nearest oos_train message, Mahalanobis distance to the class means with a shrunk shared
# covariance (Ledoit-Wolf), the same relative to one background Gaussian (Ren et al. 2021), and combinations
# of these by a logistic regression fitted on validation (or on val in-scope + oos_train).
# With `oos` the head also trains oos_train as an intent (evaluate_intents --oos-train); its prediction is a
# rejection, and combinations are fitted on validation only (oos_train is training data then).
# Usage: PYTHONPATH=. .venv/bin/python docs/experiments/oos_rules.py [oos]; writes /work/cache/oos/rules[-oos].json.
# ruff: noqa: E402, E731
import json
import os
import sys

import numpy as np
from scipy.special import logsumexp
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegression

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

CACHE = "/work/cache/oos"
MODE = "-oos" if sys.argv[1:] == ["oos"] else ""
OOS = "out_of_scope"
d = dataset_load("clinc150", "../shared/datasets")
Z = np.load(f"{CACHE}/clinc150-layers.npz")
unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
PARTS = ("tr", "va", "te", "otr", "ova", "ote")
texts = {"tr": d.train.texts, "va": d.validation.texts, "te": d.test.texts,
         "otr": d.oos_train, "ova": d.oos_validation, "ote": d.oos_test}  # fmt: skip


def emb(p, layers="6"):
    return np.hstack([unit(Z[p + "_mean"][int(k)]) for k in layers]) / np.sqrt(len(layers))


logits_path = f"{CACHE}/logits-3456-c10-w2{MODE}.npz"
if os.path.exists(logits_path):
    L = dict(np.load(logits_path))
    classes = L.pop("classes")
else:
    fit_texts = d.train.texts + (d.oos_train if MODE else [])
    word, char = fit_vectorizer(fit_texts, WORD_PARAMS), fit_vectorizer(fit_texts, CHAR_PARAMS)
    feats = lambda p: combine(emb(p, "3456"), word.transform(texts[p]), char.transform(texts[p]), BlockWeights(dense=2))
    X = feats("tr")
    if MODE:
        X = __import__("scipy.sparse", fromlist=["vstack"]).vstack([X, feats("otr")]).tocsr()
    head = LinearHead.fit(X, d.train.intents + [OOS] * len(d.oos_train) * bool(MODE), c=10, seed=0)
    classes = np.asarray(head.classes)
    L = {p: np.asarray(feats(p) @ head.weights.T) + head.bias for p in PARTS if p != "tr"}
    np.savez(logits_path, classes=classes, **L)
P = [p for p in PARTS if p != "tr"]
pred = {p: classes[L[p].argmax(1)] for p in P}
val_correct = pred["va"] == np.asarray(d.validation.intents)
test_correct = pred["te"] == np.asarray(d.test.intents)
ytr = np.asarray(d.train.intents)

S: dict[str, dict[str, np.ndarray]] = {}
scores_path = f"{CACHE}/scores{MODE}.npz"
if os.path.exists(scores_path):
    for key, value in np.load(scores_path).items():
        name, _, p = key.rpartition(":")
        S.setdefault(name, {})[p] = value
for p in P if not S else ():
    proba = np.exp(L[p] - logsumexp(L[p], axis=1, keepdims=True))
    S.setdefault("pmax", {})[p] = proba.max(1)
    S.setdefault("maxlogit", {})[p] = L[p].max(1)
    S.setdefault("energy", {})[p] = logsumexp(L[p], axis=1)
for layers in ("6", "3456") if "knn10/6" not in S else ():
    memory = emb("tr", layers)
    oos_memory = emb("otr", layers)
    for p in P:
        cos = emb(p, layers) @ memory.T
        top = -np.partition(-cos, 10, axis=1)[:, :10]
        S.setdefault(f"knn1/{layers}", {})[p] = top.max(1)
        S.setdefault(f"knn10/{layers}", {})[p] = top.mean(1)
        to_oos = emb(p, layers) @ oos_memory.T
        if p == "otr":  # leave one out: an oos_train message is not its own neighbour
            np.fill_diagonal(to_oos, -1)
        S.setdefault(f"-oos1/{layers}", {})[p] = -to_oos.max(1)
    # Mahalanobis with a shrunk shared covariance, and relative to a background Gaussian over all of train.
    x = memory
    labels, inverse = np.unique(ytr, return_inverse=True)
    means = np.stack([x[inverse == i].mean(0) for i in range(len(labels))])
    prec = LedoitWolf().fit(x - means[inverse]).precision_
    background = LedoitWolf().fit(x)
    for p in P:
        q = emb(p, layers)
        dist = (q @ prec * q).sum(1)[:, None] - 2 * q @ prec @ means.T + (means @ prec * means).sum(1)
        S.setdefault(f"maha/{layers}", {})[p] = -dist.min(1)
        centred = q - background.location_
        bg = (centred @ background.precision_ * centred).sum(1)
        S.setdefault(f"relmaha/{layers}", {})[p] = -(dist.min(1) - bg)

# Other spaces for the nearest-neighbour similarity: WordLlama's static token embeddings, and the char TF-IDF block.
if "knn10/wordllama" not in S:
    from intents.classifier.tokens import token_embed

    spaces = {"wordllama": {p: token_embed(texts[p]) for p in PARTS}}
    char = fit_vectorizer(d.train.texts, CHAR_PARAMS)
    spaces["char"] = {p: char.transform(texts[p]) for p in PARTS}
    for space, X in spaces.items():
        for p in P:
            cos = np.asarray((X[p] @ X["tr"].T).todense()) if space == "char" else X[p] @ X["tr"].T
            S.setdefault(f"knn10/{space}", {})[p] = -np.sort(-cos, axis=1)[:, :10].mean(1)
np.savez(scores_path, **{f"{name}:{p}": v for name, parts in S.items() for p, v in parts.items()})


def paper(s, t):
    """Larson et al.'s validation accuracy at threshold t."""
    return (np.sum(val_correct & (s["va"] >= t)) + np.sum(s["ova"] < t)) / (len(s["va"]) + len(s["ova"]))


rejected_by_class = {p: pred[p] == OOS for p in P}


def report(s):
    s = {p: np.where(rejected_by_class[p], -np.inf, s[p]) for p in ("va", "te", "ova", "ote")}
    t = threshold_on_validation(val_correct, s["va"], s["ova"])
    return {
        "val_paper_accuracy": round(100 * paper(s, t), 2),
        **out_of_scope_report(test_correct, s["te"], s["ote"], t),
    }


rows = {name: report(s) for name, s in S.items()}
for name, s in S.items():
    print(f"{name:16s}", rows[name], flush=True)

mu = {n: S[n]["va"].mean() for n in S}
sd = {n: S[n]["va"].std() for n in S}
z = lambda n, p: (S[n][p] - mu[n]) / sd[n]


def fitted(names, negatives):
    """A logistic regression on z-scored scores: val's correct in-scope (1) against `negatives` (0)."""
    X = lambda p: np.stack([z(n, p) for n in names], 1)
    pos = X("va")[val_correct]
    neg = np.vstack([X(p) for p in negatives])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(
        np.vstack([pos, neg]), np.r_[np.ones(len(pos)), np.zeros(len(neg))], sample_weight=None
    )
    return {p: X(p) @ model.coef_[0] for p in ("va", "te", "ova", "ote")}, model.coef_[0]


names = [n for n in S if not n.startswith("-oos")]
for combo in [("pmax", "knn10/6"), ("pmax", "maxlogit", "knn10/6", "-oos1/6"), ("pmax", "knn10/6", "-oos1/6"),
              ("pmax", "knn10/6", "relmaha/6"), ("pmax", "knn10/6", "knn10/wordllama"),
              ("pmax", "knn10/6", "knn10/char"), ("pmax", "knn10/6", "knn10/wordllama", "-oos1/6"),
              ("pmax", "maxlogit", "knn10/6", "knn10/wordllama", "-oos1/6"),
              ("pmax", "knn10/6", "knn10/wordllama", "knn10/char", "-oos1/6"),
              ("pmax", "knn10/6", "knn10/wordllama", "relmaha/6", "-oos1/6"),
              ("pmax", "maxlogit", "knn10/6", "knn10/wordllama", "knn10/char", "relmaha/6", "-oos1/6")]:  # fmt: skip
    for negatives in (("ova",),) if MODE else (("otr",), ("ova",), ("otr", "ova")):
        s, coef = fitted(combo, negatives)
        key = "+".join(combo) + f" fit on va+{'+'.join(negatives)}"
        rows[key] = {**report(s), "coef": [round(float(c), 3) for c in coef]}
        print(f"{key:70s}", rows[key], flush=True)
json.dump(rows, open(f"{CACHE}/rules{MODE}.json", "w"), indent=1)
