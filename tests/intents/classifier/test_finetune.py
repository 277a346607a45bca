"""The opt-in fine-tuned encoder (finetune.py): its loss, its batches, and a tiny bot trained, stored, loaded and
served on CPU (the GPU path is in test_gpu.py)."""

import json

import numpy as np
import pytest
import torch

from intents.classifier import IntentClassifier
from intents.classifier.backends import TUNED_ENCODER, artifact_export
from intents.classifier.encoder import get_encoder
from intents.classifier.finetune import EncoderTuning, _pair_batches, supervised_contrastive_loss

TEXTS = [
    "hello there", "hi, good morning", "hey, how are you?", "good evening to you",
    "bye for now", "see you later", "goodbye and thanks", "talk to you tomorrow",
    "where is my parcel?", "has my order shipped yet", "track my package please", "when will my order arrive",
]  # fmt: skip
INTENTS = ["greet"] * 4 + ["goodbye"] * 4 + ["order_status"] * 4
QUERIES = ["hi there, good morning", "see you soon, bye", "where is my package?"]
TINY = EncoderTuning(epochs=1, batch_size=4)


@pytest.fixture(scope="module")
def tuned() -> IntentClassifier:
    return IntentClassifier.train(texts=TEXTS, intents=INTENTS, languages=["en"] * len(TEXTS), encoder_tuning=TINY)


def test_the_loss_is_lower_when_same_intent_sentences_are_closer():
    """Supervised contrastive loss: pairs of one intent close together and apart from the others score lower."""
    labels = torch.tensor([0, 0, 1, 1])
    grouped = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1], [-0.1, 1.0], [0.1, 1.0]]), dim=1)
    mixed = grouped[[0, 2, 1, 3]]  # the same vectors, each now labelled with the other group's partner
    assert supervised_contrastive_loss(grouped, labels, 0.05) < supervised_contrastive_loss(mixed, labels, 0.05)


def test_an_epoch_reads_every_example_once_in_same_intent_pairs():
    """Each batch is made of same-intent pairs (so every anchor has a positive), and the epoch covers each row once."""
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    batches = _pair_batches(labels, 4, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(labels)))
    alone = sum(int(np.sum(labels[batch] == labels[row]) < 2) for batch in batches for row in batch)
    assert alone <= 2  # at most the odd one out of each intent with an odd count (intents 0 and 2)


def test_bad_tuning_settings_are_refused():
    """A tuning with no epoch or a batch too small to hold two pairs is refused before any work."""
    for bad in ({"epochs": 0}, {"batch_size": 2}, {"learning_rate": 0.0}):
        with pytest.raises(ValueError, match="invalid encoder tuning"):
            EncoderTuning(**bad)


def test_tuning_moves_a_copy_of_the_encoder_and_leaves_the_shared_one(tuned):
    """The tuned encoder differs from the base encoder; the base, shared by every model of the process, is intact."""
    base = get_encoder()
    before = base.encode(TEXTS)
    assert tuned.encoder_tuned and tuned.metadata["encoder_tuning"]["epochs"] == 1
    assert not np.allclose(tuned.encode(TEXTS), before, atol=1e-4)
    assert np.array_equal(get_encoder().encode(TEXTS), before)


def test_a_tuned_model_round_trips_through_its_artifact(tuned, tmp_path):
    """Train, store, load, predict: the artifact holds the tuned weights and the loaded model answers as trained."""
    tuned.save(tmp_path / "model")
    assert (tmp_path / "model" / TUNED_ENCODER / "model.safetensors").is_file()
    assert json.loads((tmp_path / "model" / "manifest.json").read_text())["metadata"]["encoder"]["tuned"] is True
    loaded = IntentClassifier.load(tmp_path / "model")
    trained, served = tuned.predict(QUERIES), loaded.predict(QUERIES)
    assert [p.intent for p in served] == [p.intent for p in trained] == ["greet", "goodbye", "order_status"]
    assert np.allclose([p.confidence for p in served], [p.confidence for p in trained], atol=1e-5)


def test_an_export_of_a_tuned_model_runs_the_tuned_encoder_as_onnx(tuned, tmp_path):
    """export_model converts the tuned weights, not the base encoder's: the ONNX copy gives the same answers."""
    tuned.save(tmp_path / "model")
    exported = IntentClassifier.load(artifact_export(tmp_path / "model", tmp_path / "export"))
    assert exported.backend == "onnx"
    assert np.allclose(exported.encode(QUERIES), tuned.encode(QUERIES), atol=1e-4)
