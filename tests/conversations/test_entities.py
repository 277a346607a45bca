"""Built-in entities in English and Spanish, from dateparser, phonenumbers, text2num and Django's validator."""

from datetime import datetime

import pytest

from conversations.dialogue.entities import entities_extract

NOW = datetime(2026, 3, 4, 10, 0)  # a Wednesday


def _found(text, language):
    return [(f.entity, f.value) for f in entities_extract(text=text, language=language, custom=[], now=NOW)]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("mañana a las 5", "es", [("sys.datetime", "2026-03-05T05:00")]),
        ("next friday", "en", [("sys.datetime", "2026-03-06T00:00")]),
        ("tomorrow at 8pm", "en", [("sys.datetime", "2026-03-05T20:00")]),
        ("somos cuatro", "es", [("sys.number", 4)]),
        ("table for twenty one", "en", [("sys.number", 21)]),
        ("2,5 kilos", "es", [("sys.number", 2.5)]),
        # a number word just before a date is the party size, not part of the date; dateparser took it in
        ("twenty two tomorrow at 8", "en", [("sys.number", 22), ("sys.datetime", "2026-03-05T08:00")]),
        ("veintidós mañana a las 8", "es", [("sys.number", 22), ("sys.datetime", "2026-03-05T08:00")]),
        ("two tomorrow at 8", "en", [("sys.number", 2), ("sys.datetime", "2026-03-05T08:00")]),
        # ... unless the rest is no date without it
        ("3 days from now", "en", [("sys.datetime", "2026-03-07T10:00")]),
        ("two weeks from now at 8", "en", [("sys.datetime", "2026-03-18T08:00")]),
        ("write to Ana.Lopez@Example.com", "en", [("sys.email", "ana.lopez@example.com")]),
        ("llámame al 612 345 678", "es", [("sys.phone", "+34612345678")]),
        ("call me at (415) 555-2671", "en", [("sys.phone", "+14155552671")]),
    ],
)
def test_builtin_entities(text, language, expected):
    """Each built-in entity is found with its normalised value; digits inside a date are not also a number."""
    assert _found(text, language) == expected


@pytest.mark.parametrize(
    ("text", "language", "spans"),
    [
        ("mesa para cuatro mañana a las 9", "es", ["cuatro", "mañana a las 9"]),
        ("twenty two people tomorrow at 8, ana@example.com", "en", ["twenty two", "tomorrow at 8", "ana@example.com"]),
        ("twenty two tomorrow at 8", "en", ["twenty two", "tomorrow at 8"]),
        ("veintidós mañana a las 8", "es", ["veintidós", "mañana a las 8"]),
    ],
)
def test_spans_index_the_visitors_text(text, language, spans):
    """Start and end index the text as sent, also around a bare hour ("at 8") and a number in words."""
    found = entities_extract(text=text, language=language, custom=[], now=NOW)
    assert [text[f.start : f.end] for f in found] == spans
