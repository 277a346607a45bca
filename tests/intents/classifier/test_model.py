"""Behaviour of the pure-ML intent classifier on a small bilingual bot."""

import json
from pathlib import Path

import pytest

from intents.classifier import ArtifactError, EncoderNotFoundError, IntentClassifier, Prediction

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
    assert 0.0 < classifier.metadata["threshold"] < 1.0


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
