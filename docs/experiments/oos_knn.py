# Probability + w × (mean cosine to the k nearest training examples) as the out-of-scope score on CLINC150, on the
# logits cached by oos_scores.py (top-four-layer features, C=10, dense weight 2; plain and with oos_train as a class):
# for each similarity variant, w is chosen on val + oos_val by the paper's accuracy, then applied to test.
# Writes /tmp/charla-h6/oos_knn.json.
# ruff: noqa: E402, E702, E731
import json

import numpy as np
from scipy.special import softmax

from intents.classifier.datasets import dataset_load
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

d = dataset_load("clinc150", "../shared/datasets")
Z = np.load("/tmp/charla-h6/clinc150-layers.npz")
unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)


def emb(p, layers="6"):
    return np.hstack([unit(Z[p + "_mean"][int(k)]) for k in layers]) / np.sqrt(len(layers))


results = {}
for mode in ("plain", "oos"):
    L = dict(np.load(f"/tmp/charla-h6/logits-cat:3456-c10-w2-{mode}.npz"))
    cls = L.pop("classes")
    pred = {p: cls[v.argmax(1)] for p, v in L.items()}
    pm = {p: np.where(pred[p] == "out_of_scope", -9, softmax(v, 1).max(1)) for p, v in L.items()}
    vc = pred["va"] == np.asarray(d.validation.intents)
    tc = pred["te"] == np.asarray(d.test.intents)
    sims = {}
    for layers in ("6", "3456", "56"):
        tr = emb("tr", layers)
        S = {p: emb(p, layers) @ tr.T for p in L}
        for k in (1, 3, 10):
            sims[f"knn{layers}@{k}"] = {p: -np.sort(-s, 1)[:, :k].mean(1) for p, s in S.items()}
        # same-class neighbour: nearest example of the predicted intent
    ytr = np.asarray(d.train.intents)
    tr = emb("tr")
    sims["knn-predicted-class"] = {}
    for p in L:
        s = emb(p) @ tr.T
        out = np.zeros(len(s))
        for c in np.unique(pred[p]):
            rows = pred[p] == c
            out[rows] = s[np.ix_(rows, ytr == c)].max(1) if c != "out_of_scope" else 0
        sims["knn-predicted-class"][p] = out
    otr = emb("otr")
    sims["knn6-minus-oos"] = {p: sims["knn6@1"][p] - (emb(p) @ otr.T).max(1) for p in L}
    print(mode)
    for name, kn in sims.items():
        best = None
        for w in (0, 0.5, 1, 1.5, 2, 3, 5):
            s = {p: pm[p] + w * kn[p] for p in L}
            t = threshold_on_validation(vc, s["va"], s["ova"])
            te = out_of_scope_report(tc, s["te"], s["ote"], t)
            acc = (np.sum(vc & (s["va"] >= t)) + np.sum(s["ova"] < t)) / 3100
            if best is None or acc > best[0]:
                best = (acc, w, te)
        results[f"{mode}/{name}"] = {"w": best[1], "val_paper_accuracy": round(100 * best[0], 2), **best[2]}
        print(f"  {name:22s} w={best[1]} val {100 * best[0]:.2f} test {best[2]}")
json.dump(results, open("/tmp/charla-h6/oos_knn.json", "w"), indent=1)
