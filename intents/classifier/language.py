"""Language identification learned from the bot's own examples.

The training examples already say which language each one is in, so a small
character n-gram model restricted to those languages beats a general-purpose
detector on two-word greetings ("hola", "hello").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .features import LANGUAGE_PARAMS, fit_vectorizer, tfidf_transform, vectorizer_from_state, vectorizer_state
from .head import LinearHead

LANGUAGE_C = 10.0


class LanguageDetector:
    def __init__(self, languages: list[str], vectorizer: TfidfVectorizer | None, head: LinearHead | None) -> None:
        self.languages = languages
        self._vectorizer = vectorizer
        self._head = head

    @classmethod
    def fit(cls, texts: list[str], languages: list[str], *, seed: int) -> LanguageDetector:
        distinct = sorted(set(languages))
        if len(distinct) == 1:
            return cls(distinct, None, None)
        vectorizer = fit_vectorizer(texts, LANGUAGE_PARAMS)
        head = LinearHead.fit(tfidf_transform(vectorizer, texts), languages, c=LANGUAGE_C, seed=seed)
        return cls(distinct, vectorizer, head)

    def predict(self, texts: list[str]) -> list[str]:
        if self._head is None or self._vectorizer is None:
            return [self.languages[0]] * len(texts)
        proba = self._head.predict_proba(tfidf_transform(self._vectorizer, texts))
        return [self._head.classes[i] for i in proba.argmax(axis=1)]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self._head is None or self._vectorizer is None:
            return {"languages": self.languages}, {}
        vec_state, idf = vectorizer_state(self._vectorizer)
        manifest = {"languages": self.languages, "classes": self._head.classes, "vectorizer": vec_state}
        arrays = {"language_idf": idf, "language_weights": self._head.weights, "language_bias": self._head.bias}
        return manifest, arrays

    @classmethod
    def from_state(cls, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> LanguageDetector:
        if "vectorizer" not in manifest:
            return cls(manifest["languages"], None, None)
        vectorizer = vectorizer_from_state(manifest["vectorizer"], arrays["language_idf"])
        head = LinearHead(manifest["classes"], arrays["language_weights"], arrays["language_bias"])
        return cls(manifest["languages"], vectorizer, head)
