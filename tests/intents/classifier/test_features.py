"""The inference TF-IDF path gives what scikit-learn's TfidfVectorizer.transform gives."""

import numpy as np
import pytest

from intents.classifier.features import CHAR_PARAMS, LANGUAGE_PARAMS, WORD_PARAMS, fit_vectorizer, tfidf_transform

TRAIN = [
    "where is my order?", "¿dónde está mi pedido?", "hola, buenos días", "I want to book a table for four",
    "quiero reservar una mesa para cuatro", "what are your opening hours?", "¿a qué hora abren?", "thanks, bye",
]  # fmt: skip
QUERIES = [
    "where is my order? where is my order?",  # repeated terms: sublinear tf
    "zzzz qqqq",  # nothing in the vocabulary: an empty row
    "",
    "¿Dónde está MI pedido?",
    "hola",
]


@pytest.mark.parametrize("params", [WORD_PARAMS, CHAR_PARAMS, LANGUAGE_PARAMS], ids=["word", "char", "language"])
def test_tfidf_transform_matches_scikit_learn(params):
    """Same rows as TfidfVectorizer.transform, one text or many, with empty rows and repeated terms."""
    vectorizer = fit_vectorizer(TRAIN, params)
    for texts in ([QUERIES[0]], QUERIES, TRAIN):
        expected = vectorizer.transform(texts)
        got = tfidf_transform(vectorizer, texts)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got.toarray(), expected.toarray(), atol=1e-6)


def test_tfidf_transform_defers_to_scikit_learn_for_other_weightings():
    """A vectorizer without idf or l2 norm is transformed by scikit-learn itself."""
    vectorizer = fit_vectorizer(TRAIN, {**WORD_PARAMS, "norm": "l1"})
    np.testing.assert_allclose(
        tfidf_transform(vectorizer, QUERIES).toarray(), vectorizer.transform(QUERIES).toarray(), atol=1e-7
    )
