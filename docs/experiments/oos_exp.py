# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
import os

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import get_encoder
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead
from intents.classifier.metrics import out_of_scope_report, threshold_on_validation

d = dataset_load("clinc150", "../shared/datasets")
enc = get_encoder()
parts = {
    "tr": d.train.texts,
    "va": d.validation.texts,
    "te": d.test.texts,
    "otr": d.oos_train,
    "ova": d.oos_validation,
    "ote": d.oos_test,
}
if os.path.exists("/tmp/charla-clinc_emb.npz"):
    E = dict(np.load("/tmp/charla-clinc_emb.npz"))
else:
    E = {k: enc.encode(v) for k, v in parts.items()}
    np.savez("/tmp/charla-clinc_emb.npz", **E)
print("encoded", flush=True)
W = BlockWeights(dense=2.0)
for with_oos in (False, True):
    texts = d.train.texts + (d.oos_train if with_oos else [])
    y = d.train.intents + (["out_of_scope"] * 100 if with_oos else [])
    emb = np.vstack([E["tr"], E["otr"]]) if with_oos else E["tr"]
    w = fit_vectorizer(texts, WORD_PARAMS)
    c = fit_vectorizer(texts, CHAR_PARAMS)

    def F(e, t):
        return combine(e, w.transform(t), c.transform(t), W)

    h = LinearHead.fit(F(emb, texts), y, c=10.0, seed=0)
    cls = np.asarray(h.classes)

    def scores(key):
        p = h.predict_proba(F(E[key], parts[key]))
        pred = cls[p.argmax(1)]
        pmax = np.where(pred == "out_of_scope", 0.0, p.max(1))
        knn = (E[key] @ E["tr"].T).max(1)
        knn = np.where(pred == "out_of_scope", 0.0, knn)
        return pred, {"pmax": pmax, "knn": knn, "pmax*knn": pmax * knn, "sqrt(pmax)*knn^2": np.sqrt(pmax) * knn**2}

    pv, sv = scores("va")
    _, so = scores("ova")
    pt, st = scores("te")
    _, sot = scores("ote")
    cv = pv == np.asarray(d.validation.intents)
    ct = pt == np.asarray(d.test.intents)
    print("oos_train" if with_oos else "plain", "acc %.2f" % (100 * ct.mean()), flush=True)
    for name in sv:
        t = threshold_on_validation(cv, sv[name], so[name])
        print("  ", name, out_of_scope_report(ct, st[name], sot[name], t), flush=True)
        # balanced alternative for reference: maximise in-scope acc + oos recall on validation
        cands = np.unique(np.concatenate([sv[name], so[name]]))
        bal = [(np.mean(cv & (sv[name] >= x)) + np.mean(so[name] < x)) for x in cands]
        tb = cands[int(np.argmax(bal))]
        print("     balanced", out_of_scope_report(ct, st[name], sot[name], tb), flush=True)
