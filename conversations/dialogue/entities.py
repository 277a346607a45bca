"""Entities in a user message: built-ins from well-kept libraries, plus the bot's regex and lookup entities.

dateparser reads dates and times, phonenumbers phone numbers, text2num numbers written as words, Django's
EmailValidator e-mail addresses; all in English and Spanish.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

import dateparser
import phonenumbers
from dateparser.search import search_dates
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from text_to_num import alpha2digit

from intents.selectors import EntitySpec

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = re.compile(r"(?<![\w:.,])\d+(?:[.,]\d+)?(?![\w:])")
# dateparser reads "a las 5" / "at 5" as no time at all; "5:00" it reads.
_BARE_HOUR = re.compile(r"\b(a las?|at)\s+(\d{1,2})\b(?![:.]\d)(?!\s*(?:am|pm|a\.m\.|p\.m\.))", re.IGNORECASE)
_PHONE_REGION = {"en": "US", "es": "ES"}
_DATE_WORD = re.compile(r"[^\W\d_]|:")
_LEADING_WORD = re.compile(r"(\S+)\s+")
_ONE_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Found:
    entity: str
    value: Any  # JSON-serialisable: it is stored in the conversation's state
    start: int
    end: int


def entities_extract(*, text: str, language: str, custom: list[EntitySpec], now: datetime) -> list[Found]:
    """Every entity in `text`, left to right, with spans in `text`; where two overlap, the more specific one wins."""
    text, inserted = _hours_completed(text)
    found: list[Found] = []
    for extractor in (_custom, _emails, _phones, _datetimes):
        for candidate in extractor(text=text, language=language, custom=custom, now=now):
            if not any(candidate.start < kept.end and kept.start < candidate.end for kept in found):
                found.append(candidate)
    masked = list(text)
    for kept in found:
        masked[kept.start : kept.end] = " " * (kept.end - kept.start)
    found += _numbers(text="".join(masked), language=language)
    spans = [Found(f.entity, f.value, _original(f.start, inserted), _original(f.end, inserted)) for f in found]
    return sorted(spans, key=lambda item: item.start)


def _hours_completed(text: str) -> tuple[str, list[int]]:
    """"at 5" → "at 5:00", which dateparser reads; and where each ":00" went in the new text."""
    parts, inserted, last, shift = [], [], 0, 0
    for match in _BARE_HOUR.finditer(text):
        parts.append(text[last : match.end()] + ":00")
        inserted.append(match.end() + shift)
        last, shift = match.end(), shift + 3
    return "".join(parts) + text[last:], inserted


def _original(index: int, inserted: list[int]) -> int:
    """A position in the completed text, mapped back to the visitor's text."""
    return index - sum(min(3, max(0, index - at)) for at in inserted)


def _custom(*, text: str, language: str, custom: list[EntitySpec], **_: Any) -> list[Found]:
    found = []
    for entity in custom:
        if entity.kind == "regex":
            found += [
                Found(entity.name, m.group(0), m.start(), m.end()) for m in re.finditer(entity.pattern, text, re.I)
            ]
            continue
        for value, synonyms, value_language in entity.values:
            if value_language and value_language != language:
                continue
            for term in sorted({value, *synonyms}, key=len, reverse=True):
                for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
                    found.append(Found(entity.name, value, m.start(), m.end()))
    return found


def _emails(*, text: str, **_: Any) -> list[Found]:
    found = []
    for m in _EMAIL.finditer(text):
        try:
            validate_email(m.group(0))
        except ValidationError:
            continue
        found.append(Found("sys.email", m.group(0).lower(), m.start(), m.end()))
    return found


def _phones(*, text: str, language: str, **_: Any) -> list[Found]:
    matcher = phonenumbers.PhoneNumberMatcher(text, _PHONE_REGION.get(language, "US"))
    e164 = phonenumbers.PhoneNumberFormat.E164
    return [Found("sys.phone", phonenumbers.format_number(m.number, e164), m.start, m.end) for m in matcher]


def _datetimes(*, text: str, language: str, now: datetime, **_: Any) -> list[Found]:
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found, position = [], 0
    for phrase, moment in search_dates(text, languages=[language], settings=settings) or []:
        start = text.find(phrase, position)
        # Two-letter matches ("ma", "do") and bare numbers ("2,5") are noise dateparser finds.
        if start < 0 or len(phrase.strip()) < 3 or not _DATE_WORD.search(phrase):
            continue
        position = start + len(phrase)
        # "for 2 / twenty two tomorrow at 8pm": dateparser swallows the party size and misreads the rest. When
        # the rest is no date alone ("2 weeks from now"), the number belongs to the date.
        lead = _leading_number_end(phrase, language)
        if lead and (rest := dateparser.parse(phrase[lead:], languages=[language], settings=settings)):
            start, moment = start + lead, rest
        found.append(Found("sys.datetime", moment.isoformat(timespec="minutes"), start, position))
    return found


def _leading_number_end(phrase: str, language: str) -> int:
    """Where the number words or digits dateparser took in at the start of `phrase` end (0: none). Only the last
    word of "twenty two" may be in the phrase; it is a number too."""
    end = 0
    while (word := _LEADING_WORD.match(phrase, end)) and _is_number(word.group(1), language):
        end = word.end()
    return end


def _is_number(word: str, language: str) -> bool:
    return word.isdigit() or (language in ("en", "es") and alpha2digit(word, language, threshold=0).isdigit())


def _numbers(*, text: str, language: str) -> list[Found]:
    """Numbers in digits or words ("cuatro", "four"); other entities are already masked out of `text`."""
    digits = text
    if language in ("en", "es"):
        # Alone, "two" is an answer; inside a sentence "one"/"una" is mostly an article, which text2num skips.
        threshold = 0 if _ONE_WORD.fullmatch(text.strip()) else 3
        digits = alpha2digit(text, language, threshold=threshold)
    blocks = SequenceMatcher(None, text, digits, autojunk=False).get_opcodes() if digits != text else []
    found = []
    for m in _NUMBER.finditer(digits):
        raw = m.group(0).replace(",", ".")
        number = float(raw)
        start, end = _before_words(m.start(), blocks, end=False), _before_words(m.end(), blocks, end=True)
        found.append(Found("sys.number", int(number) if number.is_integer() else number, start, end))
    return found


def _before_words(index: int, blocks: list[tuple[str, int, int, int, int]], *, end: bool) -> int:
    """A position in the text with numbers turned into digits, mapped back to where the words were."""
    for tag, i1, i2, j1, j2 in blocks:
        if (j1 < index <= j2) if end else (j1 <= index < j2):
            return i1 + (index - j1) if tag == "equal" else (i2 if end else i1)
    return index
