# Caches, per CLINC150 split, the mean-pooled hidden state of every all-MiniLM-L6-v2 layer (0 = embeddings),
# the last layer's CLS and max pooling, in /work/cache/oos/<dataset>-layers.npz, for oos_rules.py.
# ruff: noqa: E402
import sys
import time

import numpy as np
import torch

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import MAX_TOKENS, get_encoder

torch.set_num_threads(1)
enc = get_encoder()


def pooled(texts):
    n, d = len(texts), enc.dimension
    mean = np.zeros((7, n, d), np.float32)
    extra = np.zeros((2, n, d), np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for s in range(0, n, 64):
        idx = order[s : s + 64]
        b = enc._tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with torch.inference_mode():
            hs = enc._model(**b, output_hidden_states=True).hidden_states
        m = b["attention_mask"].unsqueeze(-1).float()
        for layer, h in enumerate(hs):
            mean[layer, idx] = ((h * m).sum(1) / m.sum(1)).numpy()
        extra[0, idx] = hs[-1][:, 0].numpy()
        extra[1, idx] = hs[-1].masked_fill(m == 0, -1e4).max(1).values.numpy()
    return mean, extra


for name in sys.argv[1:]:
    d = dataset_load(name, "../shared/datasets")
    parts = {"tr": d.train.texts, "va": d.validation.texts, "te": d.test.texts}
    if d.oos_test:
        parts.update(otr=d.oos_train, ova=d.oos_validation, ote=d.oos_test)
    out, t0 = {}, time.time()
    for k, texts in parts.items():
        out[k + "_mean"], out[k + "_extra"] = pooled(texts)
    np.savez(f"/work/cache/oos/{name}-layers.npz", **out)
    print(name, "encoded in %.0f s" % (time.time() - t0), flush=True)
