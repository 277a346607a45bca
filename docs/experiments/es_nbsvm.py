# ruff: noqa: B023, E702, E731  (a throwaway experiment script)
# Fifth session: NBSVM (log-count-ratio features, one-vs-rest LinearSVC) and simplemma lemmas vs Snowball stems on
# Spanish multilingual-TOD, with and without char n-grams; validation, test for the record. No dense block.
"""Usage: PYTHONPATH=. .venv/bin/python docs/experiments/es_nbsvm.py [stem lemma stem+d lemma+d]

Needs the experiment-only extras snowballstemmer==2.2.0 and simplemma==1.1.2.
"""
import re
import sys
import time
import unicodedata

import numpy as np
import scipy.sparse as sp
import simplemma
import snowballstemmer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from intents.classifier.datasets import dataset_load

d = dataset_load("multilingual_tod_es", "../shared/datasets")
S = {"tr": d.train, "va": d.validation, "te": d.test}
T = {k: list(s.texts) for k, s in S.items()}
Y = {k: np.asarray(s.intents) for k, s in S.items()}
stem = snowballstemmer.stemmer("spanish")
fold = lambda t: "".join(c for c in unicodedata.normalize("NFKD", t.lower()) if not unicodedata.combining(c))
toks = lambda t: re.findall(r"\w+", t.lower())
PRE = {
    "raw": lambda t: " ".join(toks(t)),
    "stem": lambda t: " ".join(stem.stemWords(re.findall(r"\w+", fold(t)))),
    "lemma": lambda t: " ".join(fold(simplemma.lemmatize(w, lang="es")) for w in toks(t)),
    "lemma+d": lambda t: re.sub(r"\d+", "0", " ".join(fold(simplemma.lemmatize(w, lang="es")) for w in toks(t))),
    "stem+d": lambda t: re.sub(r"\d+", "0", " ".join(stem.stemWords(re.findall(r"\w+", fold(t))))),
}

def feats(pre, ngram=(1, 2), char=True, binary=True):
    w = (CountVectorizer(ngram_range=ngram, binary=True, token_pattern=r"\S+") if binary
         else TfidfVectorizer(ngram_range=ngram, sublinear_tf=True, token_pattern=r"\S+"))
    w.fit([PRE[pre](t) for t in T["tr"]])
    X = {k: w.transform([PRE[pre](t) for t in T[k]]) for k in T}
    if char:
        c = (CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), binary=True) if binary
             else TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
        c.fit([fold(t) for t in T["tr"]])
        X = {k: sp.hstack([X[k], c.transform([fold(t) for t in T[k]])]).tocsr() for k in T}
    return X

def nbsvm(X, C=1.0, alpha=1.0):
    classes = np.unique(Y["tr"])
    scores = {k: np.zeros((X[k].shape[0], len(classes))) for k in ("va", "te")}
    for i, c in enumerate(classes):
        pos = Y["tr"] == c
        p = alpha + np.asarray(X["tr"][pos].sum(0)).ravel()
        q = alpha + np.asarray(X["tr"][~pos].sum(0)).ravel()
        r = np.log((p / p.sum()) / (q / q.sum()))
        R = sp.diags(r)
        m = LinearSVC(C=C, random_state=0).fit(normalize(X["tr"] @ R), pos)
        w = m.coef_.ravel()
        for k in scores:
            scores[k][:, i] = normalize(X[k] @ R) @ w + m.intercept_[0]
    out = []
    for k in ("va", "te"):
        pred = classes[scores[k].argmax(1)]
        out += [(pred == Y[k]).mean() * 100, int((pred != Y[k]).sum())]
    return out

def svm(X, C=1.0):
    m = LinearSVC(C=C, random_state=0).fit(normalize(X["tr"]), Y["tr"])
    out = []
    for k in ("va", "te"):
        pred = m.predict(normalize(X[k])); out += [(pred == Y[k]).mean() * 100, int((pred != Y[k]).sum())]
    return out

for pre in sys.argv[1:] or ["stem", "lemma", "stem+d", "lemma+d"]:
    for char in (True, False):
        X = feats(pre, char=char)
        Xt = feats(pre, char=char, binary=False)
        for name, f in [("svm-tfidf C=1", lambda: svm(Xt, 1.0)), ("nbsvm C=0.1", lambda: nbsvm(X, 0.1)),
                        ("nbsvm C=1", lambda: nbsvm(X, 1.0))]:
            t0 = time.time(); v, ve, te, tee = f()
            print(
                f"| {pre} char={char} {name} | {v:.2f} ({ve}) | {te:.2f} ({tee}) | {time.time() - t0:.0f} |", flush=True
            )
