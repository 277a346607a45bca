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


def test_stems_fold_case_accents_and_digits_so_inflections_meet():
    """The stemmed word block: "Alarmas" and "alarma" give one token, and so do any two times of day."""
    from intents.classifier.features import stem_texts

    assert stem_texts(["Pon las ALARMAS a las 5:45", "pon la alarma a las 7:30", "¿Qué tiempo hará?"]) == [
        "pon las alarm a las 0 0", "pon la alarm a las 0 0", "que tiemp har",
    ]


def test_the_token_block_is_added_only_when_weighted_and_then_required():
    """combine() appends the static token embeddings as a fourth unit-length block when its weight is set."""
    import numpy as np
    import pytest
    import scipy.sparse as sp

    from intents.classifier.features import BlockWeights, combine
    from intents.classifier.tokens import token_embed

    texts = ["pon una alarma", "¿va a llover mañana?"]
    tokens = token_embed(texts)
    assert tokens.shape == (2, 256) and np.allclose(np.linalg.norm(tokens, axis=1), 1.0)
    dense, word, char = np.ones((2, 3)), sp.csr_matrix(np.eye(2)), sp.csr_matrix(np.eye(2))
    assert combine(dense, word, char).shape == (2, 7)
    assert combine(dense, word, char, BlockWeights(tokens=2.0), tokens).shape == (2, 7 + 256)
    with pytest.raises(ValueError, match="token"):
        combine(dense, word, char, BlockWeights(tokens=1.0))
