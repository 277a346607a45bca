"""Behaviour of the pure-ML intent classifier on a small bilingual bot."""

import json
from pathlib import Path

import numpy as np
import pytest

from intents.classifier import ArtifactError, EncoderNotFoundError, IntentClassifier, Prediction
from intents.classifier.encoder import get_encoder
from intents.classifier.head import PROBABILITY_ONLY
from intents.classifier.model import HeadConfig

EXAMPLES = {
    ("greet", "en"): [
        "hello", "hi", "hi there", "hey", "good morning", "good afternoon", "good evening",
        "hello, how are you?", "hey, nice to meet you", "greetings",
    ],
    ("greet", "es"): [
        "hola", "buenos días", "buenas tardes", "buenas noches", "hola, ¿qué tal?", "¿cómo estás?",
        "hola, mucho gusto", "saludos", "¡hola a todos!", "buen día",
    ],
    ("goodbye", "en"): [
        "bye", "goodbye", "see you later", "see you tomorrow", "bye bye", "talk to you later",
        "I have to go now", "have a nice day, bye", "catch you later", "farewell",
    ],
    ("goodbye", "es"): [
        "adiós", "hasta luego", "hasta mañana", "nos vemos", "chao", "hasta pronto",
        "me tengo que ir", "que tengas un buen día, adiós", "hasta la próxima", "nos vemos luego",
    ],
    ("thanks", "en"): [
        "thanks", "thank you", "thank you so much", "thanks a lot", "many thanks", "I appreciate it",
        "thanks for your help", "that's very kind of you, thanks", "cheers, thanks", "thank you very much",
    ],
    ("thanks", "es"): [
        "gracias", "muchas gracias", "mil gracias", "te lo agradezco", "gracias por tu ayuda",
        "muy amable, gracias", "se lo agradezco mucho", "gracias de verdad", "muchísimas gracias",
        "gracias, eres genial",
    ],
    ("order", "en"): [
        "I want to order a pizza", "can I get a burger and fries", "I'd like to place an order",
        "I want two large pizzas", "order a pepperoni pizza for delivery", "can I order food",
        "I would like a salad and a coke", "get me a cheeseburger please", "I want to buy a sandwich",
        "please deliver a pizza to my house",
    ],
    ("order", "es"): [
        "quiero pedir una pizza", "quisiera hacer un pedido", "me pones una hamburguesa con papas",
        "quiero dos pizzas grandes", "pedir una pizza a domicilio", "¿puedo pedir comida?",
        "quisiera una ensalada y un refresco", "tráeme una hamburguesa con queso", "quiero comprar un bocadillo",
        "envíen una pizza a mi casa",
    ],
}
HELD_OUT = [
    ("hello there, good morning", "greet"),
    ("hola, buenas", "greet"),
    ("ok bye, see you soon", "goodbye"),
    ("adiós, hasta el lunes", "goodbye"),
    ("thank you, that helped a lot", "thanks"),
    ("gracias por todo", "thanks"),
    ("I'd like to order a large pizza", "order"),
    ("quiero pedir una hamburguesa", "order"),
]
UNRELATED = [
    "asdkjh qwe",
    "what is the capital of Mongolia",
    "zxqv plmokn wertyu",
    "how many moons does Jupiter have",
]


def _dataset() -> tuple[list[str], list[str], list[str]]:
    rows = [(text, intent, lang) for (intent, lang), texts in EXAMPLES.items() for text in texts]
    texts, intents, languages = (list(column) for column in zip(*rows))
    return texts, intents, languages


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    texts, intents, languages = _dataset()
    return IntentClassifier.train(texts=texts, intents=intents, languages=languages, seed=0)


def test_predicts_intents_of_unseen_phrasings(classifier: IntentClassifier) -> None:
    """Paraphrases absent from training get their intent, in scope, in both languages."""
    predictions = classifier.predict([text for text, _ in HELD_OUT])
    assert [p.intent for p in predictions] == [intent for _, intent in HELD_OUT]
    assert not any(p.out_of_scope for p in predictions)


def test_prediction_shape(classifier: IntentClassifier) -> None:
    """The ranking is best first, capped at top_k and headed by the predicted intent."""
    (prediction,) = classifier.predict(["thanks a million"], top_k=3)
    assert isinstance(prediction, Prediction)
    assert len(prediction.ranking) == 3
    assert prediction.ranking[0] == (prediction.intent, prediction.confidence)
    scores = [score for _, score in prediction.ranking]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 < prediction.confidence <= 1.0
    assert len(classifier.predict(["hi"], top_k=50)[0].ranking) == 4


def test_detects_language(classifier: IntentClassifier) -> None:
    """The language comes from the bot's own examples: Spanish greetings are "es", English ones "en"."""
    texts = ["hola, buenos días", "good morning", "muchas gracias por todo", "see you tomorrow"]
    assert [p.language for p in classifier.predict(texts)] == ["es", "en", "es", "en"]


def test_single_language_bot_always_reports_it() -> None:
    """With one training language every prediction carries that language."""
    english = [(text, intent) for text, intent, language in zip(*_dataset()) if language == "en"]
    model = IntentClassifier.train(
        texts=[text for text, _ in english], intents=[intent for _, intent in english], languages=["en"] * len(english)
    )
    assert [p.language for p in model.predict(["hola", "hello"])] == ["en", "en"]


def test_unrelated_text_is_out_of_scope(classifier: IntentClassifier) -> None:
    """Gibberish and off-topic questions fall below the calibrated threshold."""
    predictions = classifier.predict(UNRELATED)
    assert [p.out_of_scope for p in predictions] == [True] * len(UNRELATED), [
        (p.intent, round(p.confidence, 3)) for p in predictions
    ]
    assert np.isfinite(classifier.metadata["threshold"]) and classifier.rejection_weights[0] == 1.0


def test_empty_predict_returns_empty_list(classifier: IntentClassifier) -> None:
    """Predicting nothing costs nothing and returns nothing."""
    assert classifier.predict([]) == []


def test_save_load_round_trip(classifier: IntentClassifier, tmp_path: Path) -> None:
    """A loaded artifact predicts exactly what the trained model predicted, and keeps its metadata."""
    texts = [text for text, _ in HELD_OUT] + UNRELATED
    classifier.save(tmp_path / "model")
    loaded = IntentClassifier.load(tmp_path / "model")
    assert loaded.predict(texts) == classifier.predict(texts)
    assert loaded.metadata == classifier.metadata


def test_save_over_existing_artifact_is_atomic(classifier: IntentClassifier, tmp_path: Path) -> None:
    """Saving over an artifact leaves one valid artifact and no temporary directories."""
    target = tmp_path / "model"
    classifier.save(target)
    classifier.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert IntentClassifier.load(target).predict(["hola"])[0].intent == "greet"


def test_load_rejects_non_artifact(tmp_path: Path) -> None:
    """Loading a directory that is not an artifact fails with a clear error."""
    with pytest.raises(ArtifactError, match="not an intent classifier artifact"):
        IntentClassifier.load(tmp_path)


def test_metadata_describes_training(classifier: IntentClassifier) -> None:
    """Metadata records what is needed to reproduce and audit the model."""
    meta = classifier.metadata
    assert meta["classes"] == ["goodbye", "greet", "order", "thanks"]
    assert meta["languages"] == ["en", "es"]
    assert meta["n_examples"] == 80
    assert meta["seed"] == 0
    assert meta["encoder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {"torch", "transformers", "scikit-learn"} <= set(meta["versions"])


@pytest.mark.parametrize(
    ("texts", "intents", "languages", "message"),
    [
        ([], [], [], "texts is empty"),
        (["hi", "bye"], ["greet"], ["en", "en"], "same length"),
        (["hi", "hello"], ["greet", "greet"], ["en", "en"], "at least 2 intents"),
        (["hi", ""], ["greet", "goodbye"], ["en", "en"], r"texts\[1\]"),
    ],
)
def test_rejects_bad_training_data(texts, intents, languages, message) -> None:
    """Bad training input raises ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        IntentClassifier.train(texts=texts, intents=intents, languages=languages)


def test_load_fails_clearly_without_encoder(classifier: IntentClassifier, tmp_path: Path) -> None:
    """An artifact whose encoder is not installed refuses to load and names the encoder."""
    target = tmp_path / "model"
    classifier.save(target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["metadata"]["encoder"].update(name="acme/encoder", package=None, path=str(tmp_path / "gone"))
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(EncoderNotFoundError, match="acme/encoder"):
        IntentClassifier.load(target)


def test_encoder_pools_the_top_layers_side_by_side_from_one_pass() -> None:
    """layers=4 gives four unit-length 384-d blocks, lowest first; the last is the sentence embedding."""
    encoder = get_encoder()
    texts = [text for text, _ in HELD_OUT]
    pooled = encoder.encode(texts, layers=4)
    assert pooled.shape == (len(texts), 4 * encoder.dimension)
    blocks = pooled.reshape(len(texts), 4, encoder.dimension)
    assert np.allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-5)
    assert np.abs(blocks[:, -1] - encoder.encode(texts)).max() < 1e-5
    assert not np.allclose(blocks[:, 0], blocks[:, -1], atol=1e-2)  # a lower layer, not a copy
    for layers in (0, encoder.n_layers + 1):
        with pytest.raises(ValueError, match="layers"):
            encoder.encode(texts, layers=layers)


def test_a_model_on_several_layers_round_trips_and_checks_given_embeddings(tmp_path: Path) -> None:
    """HeadConfig(layers=4) is stored in the artifact and used again at prediction; wrong-width embeddings fail."""
    texts, intents, languages = _dataset()
    config = HeadConfig(layers=4)
    classifier = IntentClassifier.train(texts=texts, intents=intents, languages=languages, config=config)
    held_out = [text for text, _ in HELD_OUT]
    assert [p.intent for p in classifier.predict(held_out)] == [intent for _, intent in HELD_OUT]
    classifier.save(tmp_path / "model")
    loaded = IntentClassifier.load(tmp_path / "model")
    assert loaded.config.layers == 4 and loaded.metadata["head_config"]["layers"] == 4
    assert loaded.predict(held_out + UNRELATED) == classifier.predict(held_out + UNRELATED)
    one_layer = np.zeros((len(texts), 384), dtype=np.float32)
    with pytest.raises(ValueError, match="4 layer"):
        IntentClassifier.train(texts=texts, intents=intents, languages=languages, config=config, embeddings=one_layer)


def test_an_svm_head_with_stems_and_token_block_round_trips_and_its_confidences_are_probabilities(
    tmp_path: Path,
) -> None:
    """HeadConfig(head="svm", stem=True, tokens block) trains, predicts held-out phrasings, and is used again at
    prediction after a reload (stems and token embeddings recomputed, same answers); the SVM's margins come out as
    probabilities (the temperature is fitted), not as raw margins."""
    from intents.classifier.features import BlockWeights

    texts, intents, languages = _dataset()
    config = HeadConfig(c=1.0, head="svm", stem=True, weights=BlockWeights(tokens=1.0))
    classifier = IntentClassifier.train(texts=texts, intents=intents, languages=languages, config=config)
    held_out = [text for text, _ in HELD_OUT]
    predictions = classifier.predict(held_out)
    assert [p.intent for p in predictions] == [intent for _, intent in HELD_OUT]
    assert all(abs(sum(score for _, score in p.ranking) - 1) < 1e-5 for p in classifier.predict(held_out, top_k=99))
    # The fitted temperature sharpens the margins: unscaled (t = 1) they average 0.72 on these phrasings.
    assert np.mean([p.confidence for p in predictions]) > 0.9
    classifier.save(tmp_path / "model")
    loaded = IntentClassifier.load(tmp_path / "model")
    assert loaded.config == config and loaded.metadata["head_config"]["head"] == "svm"
    assert loaded.predict(held_out + UNRELATED) == classifier.predict(held_out + UNRELATED)


def test_an_artifact_from_before_the_head_options_loads_as_a_logistic_head_without_stems(
    classifier: IntentClassifier, tmp_path: Path
) -> None:
    """Older artifacts have no "head", "stem" or "tokens" in their head_config: they get the defaults."""
    classifier.save(tmp_path / "model")
    manifest_path = tmp_path / "model" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    config = manifest["metadata"]["head_config"]
    for key in ("head", "stem"):
        config.pop(key)
    config["weights"].pop("tokens")
    manifest_path.write_text(json.dumps(manifest))
    loaded = IntentClassifier.load(tmp_path / "model")
    assert (loaded.config.head, loaded.config.stem, loaded.config.weights.tokens) == ("logreg", False, 0.0)
    assert loaded.predict(UNRELATED) == classifier.predict(UNRELATED)


def test_similarity_to_training_examples_is_reported_and_lower_for_unrelated_text(classifier: IntentClassifier) -> None:
    """Every prediction carries its similarity to the nearest training examples; off-topic text sits farther."""
    held_out = classifier.predict([text for text, _ in HELD_OUT])
    unrelated = classifier.predict(UNRELATED)
    assert all(-1.0 <= p.similarity <= 1.0 for p in held_out + unrelated)
    assert np.mean([p.similarity for p in unrelated]) < np.mean([p.similarity for p in held_out])
    weights = dict(zip(classifier.metadata["rejection_evidence"], classifier.metadata["rejection_weights"]))
    assert set(weights) == {"confidence", "max_logit", "similarity", "oos_similarity"}
    assert all(p.evidence[2] == p.similarity for p in held_out + unrelated)


def test_an_artifact_from_before_the_evidence_weights_rejects_on_probability_plus_weighted_similarity(
    classifier: IntentClassifier, tmp_path: Path
) -> None:
    """Artifacts with a similarity weight and no evidence weights keep their rule: probability + w × similarity."""
    classifier.save(tmp_path / "model")
    manifest_path = tmp_path / "model" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for key in ("rejection_weights", "rejection_evidence"):
        manifest["metadata"].pop(key)
    manifest["metadata"].update(similarity_weight=2.0, threshold=2.2)
    manifest_path.write_text(json.dumps(manifest))
    old = IntentClassifier.load(tmp_path / "model")
    predictions = old.predict([text for text, _ in HELD_OUT] + UNRELATED)
    assert old.rejection_weights == (1.0, 0.0, 2.0, 0.0)
    assert all(p.out_of_scope == (p.confidence + 2.0 * p.similarity < 2.2) for p in predictions)


def test_out_of_scope_examples_are_not_remembered_as_in_scope_evidence(tmp_path: Path) -> None:
    """Examples labelled out_of_scope train their class and are kept apart from the in-scope training embeddings:
    a message close to one of them has that closeness as evidence to reject it."""
    texts, intents, languages = _dataset()
    unknown = ["what is the weather on mars", "tell me a joke about cats", "who won the world cup", "play some jazz"]
    model = IntentClassifier.train(
        texts=texts + unknown, intents=intents + ["out_of_scope"] * 4, languages=languages + ["en"] * 4
    )
    model.save(tmp_path / "model")
    with np.load(tmp_path / "model" / "arrays.npz") as arrays:
        assert arrays["memory"].shape == (len(texts), 384) and arrays["memory"].dtype == np.float16
        assert arrays["oos_memory"].shape == (4, 384) and arrays["oos_memory"].dtype == np.float16
    (known_unknown,) = IntentClassifier.load(tmp_path / "model").predict(["tell me a joke about cats"])
    assert known_unknown.evidence[3] > 0.99 and known_unknown.out_of_scope


def test_an_artifact_without_training_embeddings_rejects_on_probability_alone(
    classifier: IntentClassifier, tmp_path: Path
) -> None:
    """Artifacts written before the similarity existed still load; their predictions have no similarity."""
    target = tmp_path / "model"
    classifier.save(target)
    with np.load(target / "arrays.npz") as data:
        arrays = {name: data[name] for name in data.files if name != "memory"}
    np.savez_compressed(target / "arrays.npz", **arrays)
    old = IntentClassifier.load(target)
    predictions = old.predict([text for text, _ in HELD_OUT] + UNRELATED)
    assert old.rejection_weights == PROBABILITY_ONLY and all(p.similarity is None for p in predictions)
    assert all(p.out_of_scope == (p.confidence < old.threshold) for p in predictions)


def test_a_bots_cross_validation_report_uses_the_configs_head_stems_and_token_block() -> None:
    """The per-version report folds train what the config says: an SVM on stems with the token block too."""
    from intents.classifier.evaluation import cross_validation_report
    from intents.classifier.features import BlockWeights

    texts, intents, languages = _dataset()
    embeddings = get_encoder().encode(texts)
    config = HeadConfig(c=1.0, head="svm", stem=True, weights=BlockWeights(tokens=1.0))
    report = cross_validation_report(
        texts=texts, intents=intents, languages=languages, embeddings=embeddings, config=config
    )
    assert report["method"].endswith("cross-validation") and report["accuracy"] > 80
