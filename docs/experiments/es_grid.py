# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import get_encoder
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead

d = dataset_load("multilingual_tod_es", "../shared/datasets")
enc = get_encoder()
import os

if os.path.exists("/tmp/charla-es_emb.npz"):
    z = np.load("/tmp/charla-es_emb.npz")
    tr, va, te = z["tr"], z["va"], z["te"]
else:
    tr, va, te = [enc.encode(s.texts) for s in (d.train, d.validation, d.test)]
    np.savez("/tmp/charla-es_emb.npz", tr=tr, va=va, te=te)
w = fit_vectorizer(d.train.texts, WORD_PARAMS)
c = fit_vectorizer(d.train.texts, CHAR_PARAMS)


def B(s):
    return (w.transform(s.texts), c.transform(s.texts))


btr, bva, bte = B(d.train), B(d.validation), B(d.test)
for C in (30, 100, 300, 1000):
    for dense in (1.0, 2.0):
        for char in (1.0,):
            W = BlockWeights(dense=dense, char=char)
            h = LinearHead.fit(combine(tr, *btr, W), d.train.intents, c=C, seed=0)

            def acc(e, b, s):
                return (
                    np.mean(
                        np.asarray(h.classes)[h.predict_proba(combine(e, *b, W)).argmax(1)] == np.asarray(s.intents)
                    )
                    * 100
                )

            print(C, dense, char, f"val {acc(va, bva, d.validation):.2f} test {acc(te, bte, d.test):.2f}", flush=True)
