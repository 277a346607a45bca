"""A web process imports the project without the machine-learning libraries: they cost seconds of start-up (and
memory) in every daphne process, and only a process that predicts or trains needs them (intents/classifier)."""

import json
import subprocess
import sys

from tests.live import ROOT, stack_env

HEAVY = ("torch", "transformers", "sklearn", "sentence_transformers", "onnxruntime")

PROBE = """
import json, sys
from chatbot.asgi import application
print(json.dumps([name for name in %r if name in sys.modules]))
""" % (HEAVY,)


def test_importing_the_asgi_application_loads_no_machine_learning_library(db):
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=stack_env(), capture_output=True, text=True, timeout=180
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == []


def test_the_classifier_package_still_offers_its_model_on_first_use():
    import intents.classifier as classifier

    assert classifier.IntentClassifier.__module__ == "intents.classifier.model"
    assert classifier.Prediction.__module__ == "intents.classifier.prediction"
