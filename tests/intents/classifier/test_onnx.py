"""ONNX Runtime backends against torch on the same inputs, and the self-contained export."""

import numpy as np
import pytest

from intents.classifier import IntentClassifier
from intents.classifier.backends import artifact_export
from intents.classifier.encoder import default_encoder_path, get_encoder
from intents.classifier.model import HeadConfig
from intents.classifier.onnx_encoder import OnnxEncoder, export_encoder

# Padded batches of mixed lengths and languages, and a single text (no padding at all).
TEXTS = [
    "hi",
    "what time do you open on sunday?",
    "¿dónde está mi pedido?",
    "quiero hablar con una persona",
    "I ordered two pizzas an hour ago and nothing has arrived yet, can you check the order status please",
    "gracias",
    "who are you",
    "adiós, hasta mañana",
]
FP32_TOLERANCE = 1e-4  # largest absolute difference of any embedding component
INT8_MIN_COSINE = 0.97  # per-channel int8 measured here: mean 0.99, worst of these texts 0.98


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    return {q: export_encoder(default_encoder_path(), root / q, quantize=q) for q in ("none", "int8")}


def test_onnx_fp32_embeddings_match_torch_within_tolerance(exported):
    """fp32 ONNX gives torch's sentence vectors to 1e-4 on padded batches and on a lone text."""
    reference = get_encoder().encode(TEXTS)
    onnx = OnnxEncoder(str(exported["none"]))
    assert np.abs(onnx.encode(TEXTS) - reference).max() < FP32_TOLERANCE
    assert np.abs(onnx.encode(TEXTS[4:5]) - reference[4:5]).max() < FP32_TOLERANCE


def test_onnx_fp32_layer_outputs_match_torch_within_tolerance(exported):
    """The graph's per-layer output gives torch's pooled top layers to 1e-4, in the same order."""
    reference = get_encoder().encode(TEXTS, layers=4)
    onnx = OnnxEncoder(str(exported["none"]))
    assert onnx.n_layers == 6
    assert np.abs(onnx.encode(TEXTS, layers=4) - reference).max() < FP32_TOLERANCE
    assert np.abs(onnx.encode(TEXTS[4:5], layers=4) - reference[4:5]).max() < FP32_TOLERANCE


def test_onnx_int8_embeddings_stay_close_to_torch(exported):
    """Per-channel int8 keeps every vector's cosine to fp32 above 0.97, for each of the top four layers too."""
    encoder = get_encoder()
    reference = encoder.encode(TEXTS)
    cosine = (OnnxEncoder(str(exported["int8"])).encode(TEXTS) * reference).sum(axis=1)
    assert cosine.min() > INT8_MIN_COSINE
    shape = (len(TEXTS), 4, encoder.dimension)
    layers = OnnxEncoder(str(exported["int8"])).encode(TEXTS, layers=4).reshape(shape)
    assert (layers * encoder.encode(TEXTS, layers=4).reshape(shape)).sum(axis=2).min() > INT8_MIN_COSINE


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_model_on_several_layers_predicts_the_same_intents_on_onnx(demo_definition, tmp_path, backend):
    """A head on the top four layers is served by ONNX Runtime with torch's intents; fp32 confidences to 1e-3."""
    rows = [
        (text, i["slug"], lang) for i in demo_definition["intents"] for lang, ts in i["examples"].items() for text in ts
    ]
    texts, intents, languages = (list(column) for column in zip(*rows))
    IntentClassifier.train(texts=texts, intents=intents, languages=languages, config=HeadConfig(layers=4)).save(
        tmp_path / "model"
    )
    queries = ["hello there", "hola, buenas", "what are your opening hours?", "¿dónde está mi pedido?", "thanks!"]
    torch_predictions = IntentClassifier.load(tmp_path / "model").predict(queries)
    served = IntentClassifier.load(tmp_path / "model", backend=backend, onnx_cache=tmp_path / "onnx")
    predictions = served.predict(queries)
    assert served.backend == backend and served.config.layers == 4
    assert [p.intent for p in predictions] == [p.intent for p in torch_predictions]
    if backend == "onnx":
        assert max(abs(a.confidence - b.confidence) for a, b in zip(predictions, torch_predictions)) < 1e-3


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_torch_trained_model_predicts_the_same_intents_on_onnx(demo_artifact, tmp_path, backend):
    """The demo model served by ONNX Runtime picks torch's intent; fp32 confidences agree to 1e-3."""
    texts = ["hello there", "hola, buenas", "what are your opening hours?", "¿dónde está mi pedido?", "thanks!"]
    torch_predictions = IntentClassifier.load(demo_artifact).predict(texts)
    served = IntentClassifier.load(demo_artifact, backend=backend, onnx_cache=tmp_path)
    assert served.backend == backend
    predictions = served.predict(texts)
    assert [p.intent for p in predictions] == [p.intent for p in torch_predictions]
    if backend == "onnx":
        assert max(abs(a.confidence - b.confidence) for a, b in zip(predictions, torch_predictions)) < 1e-3
        assert max(abs(a.similarity - b.similarity) for a, b in zip(predictions, torch_predictions)) < 1e-3
        assert [p.out_of_scope for p in predictions] == [p.out_of_scope for p in torch_predictions]


def test_export_writes_a_self_contained_artifact_that_runs_its_own_onnx_encoder(demo_artifact, tmp_path):
    """The export holds the heads, the int8 graph and the tokenizer; loading it uses that graph, whatever is asked."""
    target = artifact_export(demo_artifact, tmp_path / "edge", quantize="int8")
    assert {"manifest.json", "arrays.npz"} <= {p.name for p in target.iterdir()}
    assert {"model.onnx", "tokenizer.json", "config.json"} <= {p.name for p in (target / "encoder").iterdir()}
    classifier = IntentClassifier.load(target)
    assert classifier.backend == "onnx-int8"
    assert classifier.predict(["hola"])[0].intent == "greet"


def test_an_export_of_a_model_with_the_token_block_carries_the_token_model(demo_definition, tmp_path):
    """A model tuned to the SVM head, stems and token block exports with its own copy of the token model, and
    the export predicts what the fp32 ONNX backend predicts from the installed package."""
    from intents.classifier.features import BlockWeights
    from intents.classifier.tokens import EXPORTED_TOKENS, TOKENIZER_FILE, WEIGHTS_FILE

    rows = [
        (text, i["slug"], lang) for i in demo_definition["intents"] for lang, ts in i["examples"].items() for text in ts
    ]
    texts, intents, languages = (list(column) for column in zip(*rows))
    config = HeadConfig(c=1.0, head="svm", stem=True, weights=BlockWeights(tokens=1.0))
    IntentClassifier.train(texts=texts, intents=intents, languages=languages, config=config).save(tmp_path / "model")
    target = artifact_export(tmp_path / "model", tmp_path / "edge")
    assert (target / EXPORTED_TOKENS / WEIGHTS_FILE).is_file() and (target / EXPORTED_TOKENS / TOKENIZER_FILE).is_file()
    queries = ["hola, buenas", "what are your opening hours?", "¿dónde está mi pedido?"]
    exported = IntentClassifier.load(target)
    assert exported.config == config and exported._tokens_root == target / EXPORTED_TOKENS
    served = IntentClassifier.load(tmp_path / "model", backend="onnx", onnx_cache=tmp_path / "onnx")
    assert exported.predict(queries) == served.predict(queries)
