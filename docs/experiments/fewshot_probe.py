# Few-shot variants on cached encoder outputs (fewshot_cache.py): N examples per intent drawn from the whole train
# split with seeds 0..DRAWS-1 (Split.sample_per_intent, as `evaluate_intents --examples-per-intent` draws them),
# one head per variant, test accuracy (top intent, before rejection). Variants: NAME=key:value,... over
# layers (1/4/6), dense, word, char, tokens (block weights), c, head (logreg/svm).
# Usage: fewshot_probe.py DATASET N DRAWS VARIANT...   e.g. default= l4d2=layers:4,dense:2
# N = 0: the full protocol instead: fit on the train split (Banking77: without its held-out 10 %), report validation
# accuracy (what chooses) and test accuracy of that same head (for the record).
# ruff: noqa: E402
import json
import os
import sys
import time

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer, tfidf_transform
from intents.classifier.head import LinearHead
from intents.classifier.tokens import token_embed

CACHE = os.environ.get("CHARLA_CACHE", "/work/cache/fewshot")
name, n, draws = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = dataset_load(name, "../shared/datasets")
Z = np.load(f"{CACHE}/{name}-layers.npz")
pool, pool_dense = d.final_train(), np.concatenate([Z["tr"], Z["va"]], axis=1) if d.validation_from_train else Z["tr"]
test_dense, test_tokens = Z["te"], token_embed(d.test.texts)
DEFAULTS = {"layers": 1, "dense": 1.0, "word": 1.0, "char": 1.0, "tokens": 0.0, "c": 10.0, "head": "logreg"}


def parse(spec):
    label, _, body = spec.partition("=")
    settings = dict(DEFAULTS)
    for item in filter(None, body.split(",")):
        key, value = item.split(":")
        settings[key] = value if key == "head" else float(value)
    return label, settings


def dense_block(cached, rows, layers):
    layers = int(layers)
    return np.hstack([cached[7 - layers + k][rows].astype(np.float32) for k in range(layers)])


def fit_and_score(settings, seed, texts, intents, dense, evaluations):
    weights = BlockWeights(settings["dense"], settings["word"], settings["char"], settings["tokens"])
    word, char = fit_vectorizer(texts, WORD_PARAMS), fit_vectorizer(texts, CHAR_PARAMS)

    def features(texts, dense, tokens):
        return combine(dense, tfidf_transform(word, texts), tfidf_transform(char, texts), weights,
                       tokens if weights.tokens else None)

    train = features(texts, dense, token_embed(texts) if weights.tokens else None)
    head = LinearHead.fit(train, intents, c=settings["c"], seed=seed, kind=settings["head"])
    scores = []
    for eval_texts, eval_intents, eval_dense, eval_tokens in evaluations:
        predicted = np.asarray(head.classes)[
            head.predict_proba(features(eval_texts, eval_dense, eval_tokens)).argmax(1)
        ]
        scores.append(100 * float(np.mean(predicted == np.asarray(eval_intents))))
    return scores


def run(settings, seed):
    layers = settings["layers"]
    test = (d.test.texts, d.test.intents, dense_block(test_dense, slice(None), layers), test_tokens)
    if n == 0:
        val = (d.validation.texts, d.validation.intents, dense_block(Z["va"], slice(None), layers),
               token_embed(d.validation.texts))
        return fit_and_score(settings, seed, d.train.texts, d.train.intents, dense_block(Z["tr"], slice(None), layers),
                             [val, test])
    sample = pool.sample_per_intent(n, seed)
    index = {t: i for i, t in enumerate(pool.texts)}
    rows = np.array([index[t] for t in sample.texts])
    return fit_and_score(settings, seed, sample.texts, sample.intents, dense_block(pool_dense, rows, layers), [test])[0]


for spec in sys.argv[4:]:
    label, settings = parse(spec)
    t0 = time.time()
    if n == 0:
        val, test = run(settings, 0)
        print(json.dumps({"dataset": name, "variant": label, **settings, "validation": round(val, 2),
                          "test": round(test, 2), "s": round(time.time() - t0, 1)}), flush=True)
        continue
    accuracies = [run(settings, seed) for seed in range(draws)]
    print(json.dumps({"dataset": name, "n": n, "variant": label, **settings, "mean": round(np.mean(accuracies), 2),
                      "std": round(float(np.std(accuracies, ddof=1)) if draws > 1 else 0.0, 2),
                      "draws": [round(a, 2) for a in accuracies], "s": round(time.time() - t0, 1)}), flush=True)
