# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
# Needs the embeddings cached by es_grid.py (run it first).
import numpy as np
from sklearn.linear_model import LogisticRegression

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, combine, fit_vectorizer

d = dataset_load("multilingual_tod_es", "../shared/datasets")
z = np.load("/tmp/charla-es_emb.npz")
tr, va, te = z["tr"], z["va"], z["te"]
texts = d.train.texts + d.validation.texts
y = d.train.intents + d.validation.intents
emb = np.vstack([tr, va])
w = fit_vectorizer(texts, WORD_PARAMS)
c = fit_vectorizer(texts, CHAR_PARAMS)


def f(e, t):
    return combine(e, w.transform(t), c.transform(t))


for C in (10, 30):
    m = LogisticRegression(C=C, max_iter=300).fit(f(emb, texts), y)
    print(
        "train+eval",
        C,
        "test %.2f" % (100 * np.mean(m.predict(f(te, d.test.texts)) == np.asarray(d.test.intents))),
        flush=True,
    )
