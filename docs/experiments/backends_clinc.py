# CLINC150's final training alone, timed (the training-time bar: run it with both cores, CHARLA_TORCH_THREADS=2),
# with the head settings evaluate_intents chose on validation, then the test split served by each backend under
# the same out-of-scope rule as evaluate_intents (similarity weight and threshold chosen on val + oos_val).
# Usage: backends_clinc.py [C DENSE_WEIGHT LAYERS]; writes /tmp/charla-h6/backends_clinc.json.
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from intents.classifier.datasets import dataset_load
from intents.classifier.encoder import configure_threads, get_encoder
from intents.classifier.evaluation import _test
from intents.classifier.features import BlockWeights
from intents.classifier.model import HeadConfig, IntentClassifier

c, dense, layers = (float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (10, 2, 4)
config = HeadConfig(c=c, weights=BlockWeights(dense=dense), layers=layers)
threads = configure_threads()
d = dataset_load("clinc150", "../shared/datasets")
get_encoder()  # loading the weights is not training
started = time.monotonic()
model = IntentClassifier.train(
    texts=d.train.texts, intents=d.train.intents, languages=["en"] * len(d.train), config=config
)
results = {"threads": threads, "config": config.as_dict(), "train_seconds": round(time.monotonic() - started, 1)}
print(results, flush=True)
os.nice(19)  # only the training is the timed bar; the rest yields to the machine's other users
with tempfile.TemporaryDirectory() as tmp:
    model.save(Path(tmp) / "model")
    for backend in ("torch", "onnx", "onnx-int8"):
        served = IntentClassifier.load(Path(tmp) / "model", backend=backend, onnx_cache=Path(tmp) / "onnx")
        r = _test(served, d, None)
        results[backend] = {k: r[k] for k in ("accuracy", "in_scope_accuracy", "oos_recall", "ms_per_text", "oos_rule")}
        print(backend, {k: r[k] for k in ("accuracy", "in_scope_accuracy", "oos_recall", "ms_per_text")}, flush=True)
Path("/tmp/charla-h6/backends_clinc.json").write_text(json.dumps(results, indent=1))
