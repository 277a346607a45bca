"""Reading a batch job's texts from JSON and CSV: what is accepted, and the clear errors for what is not."""

import pytest

from intents.batch_input import BatchInputError, BatchText, texts_from_csv, texts_from_json

LIMITS = {"max_items": 5, "max_chars": 20}


def test_json_lists_objects_and_the_texts_key_are_read_in_order():
    """A list of strings, {"texts": [...]} and {"text", "id"} objects all give the texts in order, ids kept."""
    assert texts_from_json(["hola", "hi"], **LIMITS) == [BatchText("hola"), BatchText("hi")]
    assert texts_from_json({"texts": ["a", {"text": "b", "id": 7}]}, **LIMITS) == [BatchText("a"), BatchText("b", "7")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [({"text": "hi"}, "Expected a JSON list"), ([], "No texts"), ("hi", "Expected a JSON list")],
)
def test_json_that_is_not_a_list_of_texts_is_refused(payload, message):
    """Not a list (or an empty one): a clear message."""
    with pytest.raises(BatchInputError, match=message):
        texts_from_json(payload, **LIMITS)


def test_json_rows_in_error_are_all_reported_with_their_row():
    """Every bad row is named (1-based) with its reason; nothing is returned."""
    with pytest.raises(BatchInputError) as caught:
        texts_from_json(["ok", "  ", 3, "x" * 21], **LIMITS)
    assert [e["row"] for e in caught.value.errors] == [2, 3, 4]
    assert "empty" in caught.value.errors[0]["error"] and "21 characters" in caught.value.errors[2]["error"]


def test_over_the_item_limit_is_too_large():
    """More texts than the limit: refused as too large, before any row is checked."""
    with pytest.raises(BatchInputError) as caught:
        texts_from_json(["a"] * 6, **LIMITS)
    assert caught.value.too_large and "at most 5" in caught.value.message
    with pytest.raises(BatchInputError) as caught:
        texts_from_csv(b"a\n" * 6, **LIMITS)
    assert caught.value.too_large


def test_csv_without_header_is_one_text_per_row_and_blank_lines_are_skipped():
    """Plain rows (quoted when they hold commas, BOM tolerated) are texts; blank lines are not."""
    data = '\ufeffhola\n\n"hi, there"\r\nadiós\n'.encode()
    assert texts_from_csv(data, **LIMITS) == [BatchText("hola"), BatchText("hi, there"), BatchText("adiós")]


def test_csv_with_a_header_keeps_ids_and_ignores_other_columns():
    """A header naming `text` (any case, any place) picks the column; `id` is kept with each text."""
    data = b"ID,lang,Text\n1,es,hola\n2,en,hello\n"
    assert texts_from_csv(data, **LIMITS) == [BatchText("hola", "1"), BatchText("hello", "2")]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\xff\xfehola", "not UTF-8"), (b"hi, there\n", "1 invalid rows"), (b"text\n\n", "No texts"),
     (b"text\n\"unclosed\n", "cannot be read")],
)  # fmt: skip
def test_unreadable_csv_is_refused_with_a_reason(data, message):
    """Not UTF-8, an unquoted comma without header, a header and no rows, an unclosed quote."""
    with pytest.raises(BatchInputError, match=message):
        texts_from_csv(data, **LIMITS)
