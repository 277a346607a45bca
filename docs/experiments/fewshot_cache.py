# Caches, per benchmark split, the mean-pooled, unit-length hidden state of every all-MiniLM-L6-v2 layer
# (0 = embeddings) as float16, in $CHARLA_CACHE (default /work/cache/fewshot)/<dataset>-layers.npz, for
# fewshot_probe.py and banking_probe.py. Usage: fewshot_cache.py DATASET...
# ruff: noqa: E402
import os
import sys
import time

import numpy as np
import torch

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import MAX_TOKENS, get_encoder, mean_pool

CACHE = os.environ.get("CHARLA_CACHE", "/work/cache/fewshot")
enc = get_encoder()


def pooled(texts):
    out = np.zeros((enc.n_layers + 1, len(texts), enc.dimension), np.float16)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for s in range(0, len(texts), 64):
        idx = order[s : s + 64]
        b = enc._tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.inference_mode():
            hs = enc._model(**b, output_hidden_states=True).hidden_states
        for layer, h in enumerate(hs):
            out[layer, idx] = mean_pool(h, b["attention_mask"]).numpy()
    return out


for name in sys.argv[1:]:
    d = dataset_load(name, "../shared/datasets")
    parts = {"tr": d.train.texts, "va": d.validation.texts, "te": d.test.texts}
    if d.oos_test:
        parts.update(ova=d.oos_validation, ote=d.oos_test)
    t0 = time.time()
    np.savez(f"{CACHE}/{name}-layers.npz", **{k: pooled(texts) for k, texts in parts.items()})
    print(name, "encoded in %.0f s" % (time.time() - t0), flush=True)
