"""The demo bot's out-of-scope report, as its model version's admin page shows it (rejection_report).

With `oos`, ten out-of-scope examples of its own are added first (as tests/intents/test_rejection_report.py does).
"""

import json
import sys

from intents.classifier import IntentClassifier
from intents.classifier.evaluation import rejection_report

UNKNOWN = [
    "what is the capital of australia", "write me a poem about the sea", "how tall is mount everest",
    "recommend a good science fiction novel", "what is the square root of 144", "who painted the mona lisa",
    "cuál es la capital de francia", "cuéntame un chiste de gatos", "how do I bake sourdough bread",
    "what will the weather be on mars",
]  # fmt: skip

definition = json.load(open("intents/demo/demo_bot.json"))
rows = [(t, i["slug"], lang) for i in definition["intents"] for lang, ts in i["examples"].items() for t in ts]
if sys.argv[1:] == ["oos"]:
    rows += [(text, "out_of_scope", "en") for text in UNKNOWN]
texts, intents, languages = (list(c) for c in zip(*rows))
classifier = IntentClassifier.train(texts=texts, intents=intents, languages=languages)
report = rejection_report(classifier, plot_path="/tmp/demo-rejection.png")
print({k: v for k, v in report.items() if k != "curve"})
