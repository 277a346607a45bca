# ruff: noqa: E401, E701, E702, E731  (a throwaway experiment script)
# Fifth session: a WordLlama block (static token embeddings, weights bundled in the PyPI wheel) next to the
# shipped blocks on Spanish multilingual-TOD; LR as shipped vs LinearSVC; Snowball stems + digit folding.
"""Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python docs/experiments/es_wordllama.py WORDLLAMA_DIR

WORDLLAMA_DIR: the wheel of wordllama==0.4.0.post1 unpacked (pip download --no-deps wordllama==0.4.0.post1,
then unzip); only its weights/l2_supercat_256.safetensors and tokenizers/l2_supercat_tokenizer_config.json are
read, with safetensors and tokenizers (already installed). Also needs snowballstemmer==2.2.0.
MiniLM embeddings are cached in /tmp/es-minilm.npz.
"""
import re
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from safetensors.numpy import load_file
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from tokenizers import Tokenizer

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, fit_vectorizer

ROOT = Path(sys.argv[1]) / "wordllama"
W = load_file(ROOT / "weights/l2_supercat_256.safetensors")["embedding.weight"].astype(np.float32)
tok = Tokenizer.from_file(str(ROOT / "tokenizers/l2_supercat_tokenizer_config.json"))
def wl(texts):
    return normalize(np.stack([W[tok.encode(t, add_special_tokens=False).ids].mean(0) for t in texts]))

d = dataset_load("multilingual_tod_es", "../shared/datasets")
S = {"tr": d.train, "va": d.validation, "te": d.test}
T = {k: list(s.texts) for k, s in S.items()}
Y = {k: np.asarray(s.intents) for k, s in S.items()}
cache = Path("/tmp/es-minilm.npz")
if not cache.exists():
    from intents.classifier.encoder import get_encoder
    enc = get_encoder()
    np.savez(cache, **{k: enc.encode(T[k]) for k in T})
M = dict(np.load(cache))
M = {k: normalize(M[k]) for k in M}
L = {k: wl(T[k]) for k in T}
stem = snowballstemmer.stemmer("spanish")
fold = lambda t: "".join(c for c in unicodedata.normalize("NFKD", t.lower()) if not unicodedata.combining(c))
stemd = lambda t: re.sub(r"\d+", "0", " ".join(stem.stemWords(re.findall(r"\w+", fold(t)))))
def blocks(stemmed):
    pre = stemd if stemmed else (lambda t: t)
    w = fit_vectorizer([pre(t) for t in T["tr"]], WORD_PARAMS); c = fit_vectorizer(T["tr"], CHAR_PARAMS)
    return {k: w.transform([pre(t) for t in T[k]]) for k in T}, {k: c.transform(T[k]) for k in T}
def cw(p):
    if not p: return None
    labels, counts = np.unique(Y["tr"], return_counts=True)
    return {label: (counts.max() / n) ** p for label, n in zip(labels, counts)}

def ev(name, X, model):
    t0 = time.time(); m = model.fit(X["tr"], Y["tr"]); out = []
    for k in ("va", "te"):
        p = m.predict(X[k]); out += [(p == Y[k]).mean() * 100, int((p != Y[k]).sum())]
    print(f"| {name} | {out[0]:.2f} ({out[1]}) | {out[2]:.2f} ({out[3]}) | {time.time()-t0:.0f} |", flush=True)
for stemmed in (False, True):
    Xw, Xc = blocks(stemmed)
    for mw in (0.0, 1.0):
        for lw in (0.0, 1.0, 2.0):
            X = {
                k: sp.hstack([sp.csr_matrix(M[k] * mw), sp.csr_matrix(L[k] * lw), Xw[k], Xc[k]], format="csr")
                for k in T
            }
            tag = f"{'stem+d' if stemmed else 'plain'} minilm x{mw} wordllama x{lw}"
            ev(f"{tag} LR C=30", X, LogisticRegression(C=30, max_iter=1000))
            for p in (0.0, 0.5):
                ev(f"{tag} SVC C=1 p={p}", X, LinearSVC(C=1.0, random_state=0, class_weight=cw(p)))
