# The shipped out-of-scope rule on CLINC150 through the product's own code (IntentClassifier.train, then
# evaluation._test, as evaluate_intents runs them), with the head settings evaluate_intents' grid chose on
# validation in every earlier run (top four layers, C=10, dense weight 2; docs/evaluation.md), skipping the
# grid, and the train split's embeddings read from oos_cache.py's cache instead of encoded again (same pooling).
# Usage: oos_product.py [oos]  (oos: the oos_train messages as an out_of_scope intent, as --oos-train);
# writes /work/cache/oos/product[-oos].json.
# ruff: noqa: E402, E731
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from intents.classifier.datasets import dataset_load
from intents.classifier.evaluation import _test
from intents.classifier.features import BlockWeights
from intents.classifier.model import HeadConfig, IntentClassifier
from intents.classifier.prediction import OUT_OF_SCOPE_INTENT

with_oos = sys.argv[1:] == ["oos"]
config = HeadConfig(c=10.0, weights=BlockWeights(dense=2.0), layers=4)
d = dataset_load("clinc150", "../shared/datasets")
Z = np.load("/work/cache/oos/clinc150-layers.npz")
unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)
emb = lambda p: np.hstack([unit(Z[p + "_mean"][k]) for k in (3, 4, 5, 6)]).astype(np.float32)
texts, intents, embeddings = d.train.texts, d.train.intents, emb("tr")
if with_oos:
    texts, intents = texts + d.oos_train, intents + [OUT_OF_SCOPE_INTENT] * len(d.oos_train)
    embeddings = np.vstack([embeddings, emb("otr")])
started = time.monotonic()
model = IntentClassifier.train(
    texts=texts, intents=intents, languages=["en"] * len(texts), config=config, embeddings=embeddings
)
train_seconds = time.monotonic() - started
with tempfile.TemporaryDirectory() as tmp:
    model.save(Path(tmp) / "model")
    served = IntentClassifier.load(Path(tmp) / "model")
    result = _test(served, d, None)
summary = {k: result[k] for k in ("accuracy", "in_scope_accuracy", "oos_recall", "oos_rule")}
summary.update(train_seconds=round(train_seconds, 1), oos_train=with_oos, head_config=config.as_dict(),
               weights_at_training=list(model.rejection_weights), threshold_at_training=model.threshold)  # fmt: skip
print(json.dumps(summary, indent=1))
Path(f"/work/cache/oos/product{'-oos' if with_oos else ''}.json").write_text(json.dumps(summary, indent=1))
