# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
"""Cross-validation report of the demo bot, as every ModelVersion gets it (accuracy per language).

An argument pools that many top encoder layers (default 1, the sentence embedding, as bots get it); a second one
weights the dense block (default 1).
"""

import json
import sys

from intents.classifier.encoder import get_encoder
from intents.classifier.evaluation import cross_validation_report
from intents.classifier.features import BlockWeights
from intents.classifier.model import HeadConfig

definition = json.load(open("intents/demo/demo_bot.json"))
rows = [(t, i["slug"], lang) for i in definition["intents"] for lang, ts in i["examples"].items() for t in ts]
texts, intents, languages = (list(c) for c in zip(*rows))
layers = int(sys.argv[1]) if len(sys.argv) > 1 else 1
dense = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
report = cross_validation_report(
    texts=texts,
    intents=intents,
    languages=languages,
    embeddings=get_encoder().encode(texts, layers=layers),
    config=HeadConfig(layers=layers, weights=BlockWeights(dense=dense)),
)
print({k: report[k] for k in ("method", "accuracy", "macro_f1", "per_language")}, len(texts))
