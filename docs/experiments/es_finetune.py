# ruff: noqa: UP031  (a throwaway experiment script)
# Fine-tunes all-MiniLM-L6-v2 (mean pooling + linear head) on the Spanish multilingual-TOD train split, on CPU;
# picks the epoch and the TF-IDF+LR combination on validation only, and reports test for the record.
"""Usage: PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python docs/experiments/es_finetune.py [--train-layers N] [--epochs E]
        [--lr LR] [--class-power P] [--seed S] [--save-emb PATH]

--train-layers 0 fine-tunes everything (embeddings included); N > 0 trains only the top N transformer layers
and the head (the rest frozen). --class-power p weights class c by (n_max / n_c) ** p in the loss (0 = none).
After training, the best epoch's (validation) encoder gives unit-length mean-pooled embeddings of train,
validation and test; they are scored (a) by the fine-tuned head itself and (b) as the dense block of the
product's TF-IDF + LogisticRegression combination (C in {10, 30}, dense weight in {1, 2}).
"""

import argparse
import copy
import math
import os
import random
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import default_encoder_path
from intents.classifier.features import CHAR_PARAMS, WORD_PARAMS, BlockWeights, combine, fit_vectorizer
from intents.classifier.head import LinearHead

ap = argparse.ArgumentParser()
ap.add_argument("--train-layers", type=int, default=0)
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--lr", type=float, default=5e-5)
ap.add_argument("--head-lr", type=float, default=1e-3)
ap.add_argument("--class-power", type=float, default=0.0)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--save-emb", default="")
args = ap.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
random.seed(args.seed)
np.random.seed(args.seed)

d = dataset_load("multilingual_tod_es", "../shared/datasets")
classes = sorted(set(d.train.intents))
index = {c: i for i, c in enumerate(classes)}
ytr = np.array([index[c] for c in d.train.intents])
yva = np.array([index[c] for c in d.validation.intents])
yte = np.array([index[c] for c in d.test.intents])

path = default_encoder_path()
tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
enc = AutoModel.from_pretrained(path, local_files_only=True)
head = torch.nn.Linear(enc.config.hidden_size, len(classes))
drop = torch.nn.Dropout(0.1)

if args.train_layers > 0:
    for p in enc.parameters():
        p.requires_grad = False
    for layer in enc.encoder.layer[-args.train_layers :]:
        for p in layer.parameters():
            p.requires_grad = True
enc_params = [p for p in enc.parameters() if p.requires_grad]
opt = torch.optim.AdamW(
    [{"params": enc_params, "lr": args.lr}, {"params": head.parameters(), "lr": args.head_lr}], weight_decay=0.01
)
steps = args.epochs * math.ceil(len(ytr) / args.batch)
warm = int(0.06 * steps)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
)
counts = np.bincount(ytr, minlength=len(classes))
cw = torch.tensor((counts.max() / counts) ** args.class_power, dtype=torch.float32)
loss_fn = torch.nn.CrossEntropyLoss(weight=cw if args.class_power else None)


def pooled(texts):
    b = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    h = enc(**b).last_hidden_state
    m = b["attention_mask"].unsqueeze(-1).float()
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)


@torch.no_grad()
def embed(texts, bs=128):
    enc.eval()
    out = []
    order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
    for i in range(0, len(texts), bs):
        idx = order[i : i + bs]
        out.append((idx, pooled([texts[j] for j in idx]).numpy()))
    e = np.zeros((len(texts), enc.config.hidden_size), dtype=np.float32)
    for idx, v in out:
        e[idx] = v
    return e


def head_acc(e, y):
    with torch.no_grad():
        p = head(torch.from_numpy(e)).argmax(1).numpy()
    return (p == y).mean() * 100, int((p != y).sum())


best = (-1.0, None, None, -1)
t0 = time.time()
tr_texts = list(d.train.texts)
for epoch in range(1, args.epochs + 1):
    enc.train()
    perm = np.random.permutation(len(ytr))
    total = 0.0
    for i in range(0, len(perm), args.batch):
        idx = perm[i : i + args.batch]
        x = drop(pooled([tr_texts[j] for j in idx]))
        loss = loss_fn(head(x), torch.from_numpy(ytr[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(idx)
    train_s = time.time() - t0
    head.eval()
    eva = embed(list(d.validation.texts))
    va_acc, va_err = head_acc(eva, yva)
    ete = embed(list(d.test.texts))
    te_acc, te_err = head_acc(ete, yte)
    head.train()
    print(
        f"epoch {epoch} loss {total / len(ytr):.4f} val {va_acc:.2f} ({va_err}) test {te_acc:.2f} ({te_err})"
        f" train_s {train_s:.0f}",
        flush=True,
    )
    if va_acc > best[0]:
        best = (va_acc, copy.deepcopy(enc.state_dict()), copy.deepcopy(head.state_dict()), epoch)
train_seconds = time.time() - t0
enc.load_state_dict(best[1])
head.load_state_dict(best[2])
head.eval()
print(f"best epoch {best[3]} (val {best[0]:.2f}); total wall {train_seconds:.0f}s", flush=True)

emb = [embed(list(s.texts)) for s in (d.train, d.validation, d.test)]
if args.save_emb:
    np.savez(args.save_emb, tr=emb[0], va=emb[1], te=emb[2])
print(
    "own head: val %.2f (%d) test %.2f (%d)" % (*head_acc(emb[1], yva), *head_acc(emb[2], yte)),
    flush=True,
)

w = fit_vectorizer(d.train.texts, WORD_PARAMS)
c = fit_vectorizer(d.train.texts, CHAR_PARAMS)
blocks = [(w.transform(s.texts), c.transform(s.texts)) for s in (d.train, d.validation, d.test)]
rows = []
for C in (10, 30):
    for dw in (1.0, 2.0):
        bw = BlockWeights(dense=dw)
        h = LinearHead.fit(combine(emb[0], *blocks[0], bw), d.train.intents, c=C, seed=0)
        res = []
        for e, bl, s in ((emb[1], blocks[1], d.validation), (emb[2], blocks[2], d.test)):
            p = np.asarray(h.classes)[h.predict_proba(combine(e, *bl, bw)).argmax(1)]
            y = np.asarray(s.intents)
            res += [(p == y).mean() * 100, int((p != y).sum())]
        rows.append((C, dw, *res))
        print("combined C=%g dense=%g: val %.2f (%d) test %.2f (%d)" % rows[-1], flush=True)
pick = max(rows, key=lambda r: r[2])
print("validation picks C=%g dense=%g: val %.2f (%d) test %.2f (%d)" % pick, flush=True)
