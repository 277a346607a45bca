# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
# Needs the embeddings cached by es_grid.py (run it first).
import numpy as np
from sklearn.linear_model import LogisticRegression

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, combine, fit_vectorizer

d = dataset_load("multilingual_tod_es", "../shared/datasets")
z = np.load("/tmp/charla-es_emb.npz")
tr, va, te = z["tr"], z["va"], z["te"]


def run(name, wp, cp, C=30, dense=1.0, cw=None):
    w = fit_vectorizer(d.train.texts, wp)
    c = fit_vectorizer(d.train.texts, cp)

    def f(e, s):
        return combine(e * dense, w.transform(s.texts), c.transform(s.texts))

    m = LogisticRegression(C=C, max_iter=300, class_weight=cw).fit(f(tr, d.train), d.train.intents)

    def a(e, s):
        return 100 * np.mean(m.predict(f(e, s)) == np.asarray(s.intents))

    print(name, C, f"val {a(va, d.validation):.2f} test {a(te, d.test):.2f}", flush=True)


run("base", WORD_PARAMS, CHAR_PARAMS)
run("balanced", WORD_PARAMS, CHAR_PARAMS, cw="balanced")
run("word13", {**WORD_PARAMS, "ngram_range": (1, 3)}, CHAR_PARAMS)
run("char16", WORD_PARAMS, {**CHAR_PARAMS, "ngram_range": (1, 6)})
run("char_not_wb", WORD_PARAMS, {**CHAR_PARAMS, "analyzer": "char", "ngram_range": (2, 6)})
run("dense0", WORD_PARAMS, CHAR_PARAMS, dense=0.0)
run("base100", WORD_PARAMS, CHAR_PARAMS, C=100)
