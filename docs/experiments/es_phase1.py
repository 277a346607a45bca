# ruff: noqa: B008, E731, E741  (a throwaway experiment script)
# Cheap variants of the linear-head classifier on Spanish multilingual-TOD (class re-weighting, stemming, digit
# folding, train-slot augmentation, small ensembles), scored on validation, test for the record.
"""Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python docs/experiments/es_phase1.py [--emb PATH] [only ...]

Needs snowballstemmer (an experiment-only extra: .venv/bin/pip install snowballstemmer==2.2.0).
--emb: npz with tr/va/te sentence embeddings (default /tmp/charla-es_emb.npz, the frozen all-MiniLM-L6-v2 ones;
computed and cached there if missing). Slot spans come from the TRAIN TSV only.
"""

import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import snowballstemmer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import LinearSVC

from intents.classifier.datasets import dataset_load
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer

ROOT = Path("../shared/datasets")
args = sys.argv[1:]
emb_path = "/tmp/charla-es_emb.npz"
if "--emb" in args:
    i = args.index("--emb")
    emb_path = args[i + 1]
    del args[i : i + 2]
only = set(args)

d = dataset_load("multilingual_tod_es", str(ROOT))
if not Path(emb_path).exists():
    from intents.classifier.encoder import get_encoder

    enc = get_encoder()
    np.savez(
        emb_path, **{k: enc.encode(list(s.texts)) for k, s in zip(("tr", "va", "te"), (d.train, d.validation, d.test))}
    )
z = np.load(emb_path)
EMB = {"tr": z["tr"], "va": z["va"], "te": z["te"]}
SPLITS = {"tr": d.train, "va": d.validation, "te": d.test}
Y = {k: np.asarray(s.intents) for k, s in SPLITS.items()}

stemmer = snowballstemmer.stemmer("spanish")


def fold(t):
    return "".join(ch for ch in unicodedata.normalize("NFKD", t.lower()) if not unicodedata.combining(ch))


def stem_text(t):
    return " ".join(stemmer.stemWords(re.findall(r"\w+", fold(t))))


def digits(t):
    return re.sub(r"\d+", "0", t)


def features(train_texts, texts_by_split, *, stem=False, digit=False, weights=BlockWeights(), emb=None):
    """Returns {split: matrix}; train_texts may be augmented (then emb["tr"] must match it)."""
    pre_w = lambda t: stem_text(digits(t) if digit else t) if stem else (digits(t) if digit else t)
    pre_c = lambda t: digits(t) if digit else t
    w = fit_vectorizer([pre_w(t) for t in train_texts], WORD_PARAMS)
    c = fit_vectorizer([pre_c(t) for t in train_texts], CHAR_PARAMS)
    out = {}
    for k, texts in texts_by_split.items():
        e = (emb or EMB)[k]
        out[k] = combine(e, w.transform([pre_w(t) for t in texts]), c.transform([pre_c(t) for t in texts]), weights)
    return out


def class_weights(y, p):
    if not p:
        return None
    labels, counts = np.unique(y, return_counts=True)
    return {l: (counts.max() / n) ** p for l, n in zip(labels, counts)}


def lr(X, y, C=30, p=0.0):
    return LogisticRegression(C=C, max_iter=300, random_state=0, class_weight=class_weights(y, p)).fit(X, y)


def score(name, models, X, seconds):
    """models: list of fitted classifiers with predict_proba-like `scores`; averages their probabilities."""
    res = []
    for k in ("va", "te"):
        P = sum(m_scores(m, X[k]) for m in models)
        p = models[0].classes_[P.argmax(1)]
        res += [(p == Y[k]).mean() * 100, int((p != Y[k]).sum())]
    line = f"| {name} | {res[0]:.2f} ({res[1]}) | {res[2]:.2f} ({res[3]}) | {seconds:.0f} |"
    print(line, flush=True)
    with open("/tmp/es_results.md", "a") as fh:
        fh.write(line + "\n")
    return res


def m_scores(m, X):
    if hasattr(m, "predict_proba"):
        return m.predict_proba(X)
    s = m.decision_function(X)  # LinearSVC: softmax of margins as a rough probability
    s = np.exp(s - s.max(1, keepdims=True))
    return s / s.sum(1, keepdims=True)


def run(name, build):
    if only and not any(name.startswith(o) for o in only):
        return
    t0 = time.time()
    models, X = build()
    score(name, models, X, time.time() - t0)


texts = {k: list(s.texts) for k, s in SPLITS.items()}
ytr = Y["tr"]

run("baseline C30", lambda: (lambda X: ([lr(X["tr"], ytr)], X))(features(texts["tr"], texts)))
for p in (0.25, 0.5, 0.75):
    run(f"reweight p={p}", lambda p=p: (lambda X: ([lr(X["tr"], ytr, p=p)], X))(features(texts["tr"], texts)))
run("stem word", lambda: (lambda X: ([lr(X["tr"], ytr)], X))(features(texts["tr"], texts, stem=True)))
run("digits", lambda: (lambda X: ([lr(X["tr"], ytr)], X))(features(texts["tr"], texts, digit=True)))
run("stem+digits", lambda: (lambda X: ([lr(X["tr"], ytr)], X))(features(texts["tr"], texts, stem=True, digit=True)))


# --- slot-value augmentation from the train TSV's own spans ---
def train_slots():
    rows = []
    for line in (ROOT / "multilingual_tod_es/es/train-es.tsv").read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) < 3 or not cols[2].strip():
            continue
        spans = []
        for sp_ in filter(None, cols[1].split(",")):
            a, b, typ = sp_.split(":", 2)
            spans.append((int(a), int(b), typ))
        rows.append((cols[2], cols[0], sorted(spans)))
    return rows


def augment(k, min_count=None, seed=0):
    rng = random.Random(seed)
    rows = train_slots()
    assert [r[0].strip() for r in rows] == texts["tr"], "TSV order differs from dataset_load"
    values = defaultdict(set)
    for t, _, spans in rows:
        for a, b, typ in spans:
            values[typ].add(t[a:b])
    values = {typ: sorted(v) for typ, v in values.items()}
    counts = defaultdict(int)
    for _, intent, _ in rows:
        counts[intent] += 1
    new_t, new_y = [], []
    for t, intent, spans in rows:
        if not spans or (min_count and counts[intent] >= min_count):
            continue
        for _ in range(k):
            out, last = [], 0
            for a, b, typ in spans:
                out += [t[last:a], rng.choice(values[typ])]
                last = b
            out.append(t[last:])
            s = "".join(out).strip()
            if s != t.strip():
                new_t.append(s)
                new_y.append(intent)
    return new_t, new_y


enc_cache = {}


def aug_build(k, min_count=None, p=0.0, stem=False):
    new_t, new_y = augment(k, min_count)
    key = (k, min_count)
    if key not in enc_cache:
        if "charla-es_emb" in emb_path:
            from intents.classifier.encoder import get_encoder

            enc_cache[key] = get_encoder().encode(new_t) if new_t else np.zeros((0, EMB["tr"].shape[1]), np.float32)
        else:
            enc_cache[key] = None
    if enc_cache[key] is None:
        raise SystemExit("augmentation needs the frozen encoder embeddings")
    emb = dict(EMB, tr=np.vstack([EMB["tr"], enc_cache[key]]))
    tr_t = texts["tr"] + new_t
    y = np.concatenate([ytr, new_y])
    X = features(tr_t, dict(texts, tr=tr_t), emb=emb, stem=stem)
    print(f"  (+{len(new_t)} augmented sentences)", flush=True)
    return [lr(X["tr"], y, p=p)], X


run("augment k=1 all", lambda: aug_build(1))
run("augment k=2 all", lambda: aug_build(2))
run("augment k=3 classes<200", lambda: aug_build(3, 200))


# --- ensembles ---
def ens(kind):
    X = features(texts["tr"], texts)
    models = [lr(X["tr"], ytr)]
    if kind == "svc":
        models.append(LinearSVC(C=1.0, random_state=0).fit(X["tr"], ytr))
    if kind == "sgd":
        models.append(SGDClassifier(loss="modified_huber", alpha=1e-5, max_iter=50, random_state=0).fit(X["tr"], ytr))
    return models, X


run("ensemble LR+LinearSVC", lambda: ens("svc"))
run("ensemble LR+SGD mhuber", lambda: ens("sgd"))
run("LinearSVC C=1 alone", lambda: (lambda m, X: ([m[1]], X))(*ens("svc")))


# --- second round: LinearSVC heads and combinations (run with names as arguments) ---
def svc(X, y, C=1.0, p=0.0):
    return LinearSVC(C=C, random_state=0, class_weight=class_weights(y, p)).fit(X, y)


def build(head="lr", C=30.0, p=0.0, stem=False, aug=None, weights=BlockWeights()):
    tr_t, y, emb = texts["tr"], ytr, EMB
    if aug:
        k, min_count, seed = aug
        new_t, new_y = augment(k, min_count, seed)
        key = aug
        if key not in enc_cache:
            from intents.classifier.encoder import get_encoder

            enc_cache[key] = get_encoder().encode(new_t)
        emb = dict(EMB, tr=np.vstack([EMB["tr"], enc_cache[key]]))
        tr_t, y = tr_t + new_t, np.concatenate([ytr, new_y])
    X = features(tr_t, dict(texts, tr=tr_t), emb=emb, stem=stem, weights=weights)
    return [(lr if head == "lr" else svc)(X["tr"], y, C=C, p=p)], X


for C in (0.3, 3.0, 10.0):
    run(f"r2 svc C={C}", lambda C=C: build("svc", C))
run("r2 svc C=1 stem", lambda: build("svc", 1.0, stem=True))
run("r2 svc C=1 p=0.5", lambda: build("svc", 1.0, p=0.5))
run("r2 svc C=1 aug k=2", lambda: build("svc", 1.0, aug=(2, None, 0)))
run("r2 lr aug k=2 stem", lambda: build("lr", 30.0, stem=True, aug=(2, None, 0)))
for seed in (1, 2):
    run(f"r2 lr aug k=2 seed={seed}", lambda seed=seed: build("lr", 30.0, aug=(2, None, seed)))
run("r2 lr aug k=4", lambda: build("lr", 30.0, aug=(4, None, 0)))


# --- third round: stemmed word block with LinearSVC, and any --emb (e.g. fine-tuned encoder) ---
for C in (0.3, 3.0):
    run(f"r3 svc C={C} stem", lambda C=C: build("svc", C, stem=True))
run("r3 svc C=1 stem p=0.5", lambda: build("svc", 1.0, p=0.5, stem=True))
run("r3 lr C=30 stem p=0.5", lambda: build("lr", 30.0, p=0.5, stem=True))
run("r3e svc C=1 stem", lambda: build("svc", 1.0, stem=True))
run("r3e lr C=30 stem", lambda: build("lr", 30.0, stem=True))
run("r3e lr C=30", lambda: build("lr", 30.0))


# --- fourth round: around the best validation cell (LinearSVC, stemmed words, partial class weights) ---
for p in (0.25, 0.75):
    run(f"r4 svc C=1 stem p={p}", lambda p=p: build("svc", 1.0, p=p, stem=True))
run("r4 svc C=3 stem p=0.5", lambda: build("svc", 3.0, p=0.5, stem=True))
run("r4 svc C=1 stem p=0.5 aug k=2", lambda: build("svc", 1.0, p=0.5, stem=True, aug=(2, None, 0)))


# --- fifth round: late fusion of the best lexical cell with heads on the fine-tuned encoder (/tmp/es_ft_*.npz,
# written by es_finetune.py --save-emb); LinearSVC margins go through a softmax, as in m_scores ---
def fusion(ft_path, lexical=("svc", 1.0, 0.5)):
    head, C, p = lexical
    m_lex, X = build(head, C, p=p, stem=True)
    zf = np.load(ft_path)
    F = {k: zf[k] / np.linalg.norm(zf[k], axis=1, keepdims=True) for k in ("tr", "va", "te")}
    m_ft = LogisticRegression(C=30, max_iter=300, random_state=0).fit(F["tr"], ytr)

    class Fused:
        classes_ = m_lex[0].classes_

    res = []
    for k in ("va", "te"):
        P = m_scores(m_lex[0], X[k]) + m_ft.predict_proba(F[k])
        pred = Fused.classes_[P.argmax(1)]
        res += [(pred == Y[k]).mean() * 100, int((pred != Y[k]).sum())]
    return res


for tag, path in (("full", "/tmp/es_ft_full.npz"), ("top2", "/tmp/es_ft_top2.npz")):
    if (not only or any(f"r5 {tag}".startswith(o) for o in only)) and Path(path).exists():
        for lex in (("svc", 1.0, 0.5), ("lr", 30.0, 0.5)):
            t0 = time.time()
            r = fusion(path, lex)
            line = (f"| r5 fusion {lex[0]} C={lex[1]} stem p=0.5 + LR(ft-{tag} emb) | {r[0]:.2f} ({r[1]}) "
                    f"| {r[2]:.2f} ({r[3]}) | {time.time() - t0:.0f} |")
            print(line, flush=True)
            open("/tmp/es_results.md", "a").write(line + "\n")


# --- sixth round: the best cell without the (English) sentence embedding ---
run("r6 svc C=1 stem p=0.5 no-emb", lambda: build("svc", 1.0, p=0.5, stem=True, weights=BlockWeights(dense=0.0)))
run("r6 lr C=30 stem p=0.5 no-emb", lambda: build("lr", 30.0, p=0.5, stem=True, weights=BlockWeights(dense=0.0)))
