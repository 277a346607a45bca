"""The CUDA path of the encoder and the worker's classifier. Runs only where a GPU is present (`-m gpu` on the
device machine); skipped elsewhere, so `make test` on a CPU machine reports it as skipped, not passed."""

import numpy as np
import pytest
import torch

from intents.classifier import IntentClassifier
from intents.classifier.encoder import Encoder, default_encoder_path, get_encoder

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

TEXTS = ["hello there", "hola, ¿qué tal?", "what are your opening hours?", "¿dónde está mi pedido?"]


def test_the_encoder_on_cuda_gives_the_vectors_of_the_cpu():
    """The same texts encode to the same unit vectors on the GPU as on the CPU (cosine ≥ 0.999)."""
    path = default_encoder_path()
    on_gpu = Encoder(path, device="cuda").encode(TEXTS)
    on_cpu = Encoder(path, device="cpu").encode(TEXTS)
    assert np.all((on_gpu * on_cpu).sum(axis=1) >= 0.999)


def test_a_worker_classifies_on_cuda_by_default(demo_artifact):
    """With a GPU present the shared encoder runs on it, and the demo model answers its own intents there."""
    assert get_encoder()._device.type == "cuda"
    classifier = IntentClassifier.load(demo_artifact)
    predictions = classifier.predict(["hello there", "hola, buenos días"])
    assert [p.intent for p in predictions] == ["greet", "greet"]


def test_encoder_tuning_runs_on_cuda_and_its_model_serves_there(tmp_path):
    """With a GPU present a tuned encoder trains there, and a model loaded from its artifact answers there too."""
    from intents.classifier.finetune import EncoderTuning

    texts = ["hello there", "hi friend", "good morning", "hey", "bye now", "see you", "goodbye", "farewell"]
    intents = ["greet"] * 4 + ["goodbye"] * 4
    trained = IntentClassifier.train(
        texts=texts, intents=intents, languages=["en"] * 8, encoder_tuning=EncoderTuning(epochs=1, batch_size=4)
    )
    trained.save(tmp_path / "model")
    loaded = IntentClassifier.load(tmp_path / "model")
    assert loaded.encoder_tuned and loaded._encoder.device.type == "cuda"
    assert [p.intent for p in loaded.predict(["hello", "goodbye then"])] == ["greet", "goodbye"]
