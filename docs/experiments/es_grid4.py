# ruff: noqa: B008, B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
# Needs the embeddings cached by es_grid.py (run it first).
import numpy as np
from sklearn.linear_model import LogisticRegression

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer

d = dataset_load("multilingual_tod_es", "../shared/datasets")
z = np.load("/tmp/charla-es_emb.npz")
tr, va, te = z["tr"], z["va"], z["te"]


def run(name, wp, cp, C=30, W=BlockWeights()):
    w = fit_vectorizer(d.train.texts, wp)
    c = fit_vectorizer(d.train.texts, cp)
    f = lambda e, s: combine(e, w.transform(s.texts), c.transform(s.texts), W)
    m = LogisticRegression(C=C, max_iter=300).fit(f(tr, d.train), d.train.intents)
    a = lambda e, s: 100 * np.mean(m.predict(f(e, s)) == np.asarray(s.intents))
    print(name, C, f"val {a(va, d.validation):.2f} test {a(te, d.test):.2f}", flush=True)


run("char_keep_accents", WORD_PARAMS, {**CHAR_PARAMS, "strip_accents": None})
run("word1.5", WORD_PARAMS, CHAR_PARAMS, W=BlockWeights(word=1.5))
run("char1.5", WORD_PARAMS, CHAR_PARAMS, W=BlockWeights(char=1.5))
run("word_nosublinear", {**WORD_PARAMS, "sublinear_tf": False}, CHAR_PARAMS)
