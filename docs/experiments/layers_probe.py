# Validation (and test, for the record) accuracy of the shipped head when the dense block is built from
# several all-MiniLM-L6-v2 layers (cached by layers_cache.py); TF-IDF blocks as shipped.
# Usage: layers_probe.py DATASET C DENSE_WEIGHT VARIANT...; appends to /tmp/charla-h6/probe.jsonl.
# ruff: noqa: E402
import json
import sys
import time

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead

name, c, dense = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
d = dataset_load(name, "../shared/datasets")
Z = np.load(f"/tmp/charla-h6/{name}-layers.npz")


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def dense_block(variant, part):
    mean, extra = Z[part + "_mean"], Z[part + "_extra"]
    kind, _, layers = variant.partition(":")
    picked = [unit(mean[int(k)]) for k in layers] if layers else []
    if kind == "cat":
        return np.hstack(picked) / np.sqrt(len(picked))
    if kind == "avg":
        return unit(np.mean(picked, axis=0))
    if kind == "ccat":  # centred on the training mean of each layer first (removes the shared direction)
        tr = Z["tr_mean"]
        return np.hstack([unit(unit(mean[int(k)]) - unit(tr[int(k)]).mean(0)) for k in layers]) / np.sqrt(len(layers))
    if kind == "l6max":
        return np.hstack([unit(mean[6]), unit(extra[1])]) / np.sqrt(2)
    if kind == "l6cls":
        return np.hstack([unit(mean[6]), unit(extra[0])]) / np.sqrt(2)
    raise ValueError(variant)


word, char = fit_vectorizer(d.train.texts, WORD_PARAMS), fit_vectorizer(d.train.texts, CHAR_PARAMS)
texts = {"tr": d.train.texts, "va": d.validation.texts, "te": d.test.texts}
sparse = {k: (word.transform(t), char.transform(t)) for k, t in texts.items()}
weights = BlockWeights(dense=dense)
for variant in sys.argv[4:]:
    t0 = time.time()
    feats = {k: combine(dense_block(variant, k), *sparse[k], weights) for k in texts}
    head = LinearHead.fit(feats["tr"], d.train.intents, c=c, seed=0)
    acc = {}
    for k, truth in (("va", d.validation.intents), ("te", d.test.intents)):
        pred = np.asarray(head.classes)[head.predict_proba(feats[k]).argmax(1)]
        acc[k] = round(100 * float(np.mean(pred == np.asarray(truth))), 2)
    row = {
        "dataset": name,
        "c": c,
        "dense": dense,
        "variant": variant,
        "val": acc["va"],
        "test": acc["te"],
        "seconds": round(time.time() - t0),
    }
    print(json.dumps(row), flush=True)
    with open("/tmp/charla-h6/probe.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
