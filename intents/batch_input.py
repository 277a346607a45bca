"""Texts for a batch prediction job, read from a JSON body or a CSV file and checked before anything is stored.

Knows nothing of Django: the limits come in as arguments. Rows in error messages are 1-based, as a spreadsheet
shows them (a CSV header is row 1).
"""

import csv
import io
from dataclasses import dataclass

from .csv_cells import cell_read

MAX_REPORTED_ERRORS = 20
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class BatchText:
    text: str
    external_id: str = ""


class BatchInputError(ValueError):
    """Input that cannot become a job. `errors`: [{"row": n, "error": "…"}] (at most 20); `too_large`: over the
    item limit (the API answers 413)."""

    def __init__(self, message: str, errors: list[dict] | None = None, too_large: bool = False) -> None:
        super().__init__(message)
        self.message, self.errors, self.too_large = message, errors or [], too_large


def texts_from_json(payload: object, *, max_items: int, max_chars: int) -> list[BatchText]:
    """`["text", …]`, `{"texts": [...]}`; an element may also be `{"text": "…", "id": "…"}`."""
    if isinstance(payload, dict) and set(payload) == {"texts"}:
        payload = payload["texts"]
    if not isinstance(payload, list):
        raise BatchInputError('Expected a JSON list of texts, or {"texts": [...]}.')
    _check_count(len(payload), max_items)
    rows, errors = [], []
    for row, element in enumerate(payload, start=1):
        if isinstance(element, dict) and "text" in element and set(element) <= {"text", "id"}:
            text, external_id = element["text"], element.get("id", "")
        else:
            text, external_id = element, ""
        if not isinstance(text, str) or not isinstance(external_id, str | int):
            errors.append({"row": row, "error": 'expected a string or {"text": "…", "id": "…"}'})
            continue
        rows.append(_checked(text, str(external_id), row, max_chars, errors))
    return _result(rows, errors)


def texts_from_csv(data: bytes, *, max_items: int, max_chars: int) -> list[BatchText]:
    """One text per row, UTF-8. A first row naming a `text` column is a header; an `id` column is then kept
    with each text and other columns are ignored. Without a header a row must have exactly one cell (quote
    texts that contain commas). Blank lines are skipped. A results CSV reads back as its texts: the `'` that
    intents/csv_cells.py puts before a formula-like cell is removed."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"The CSV file is not UTF-8 text (byte {exc.start}).") from exc
    try:
        reader = csv.reader(io.StringIO(content, newline=""), strict=True)
        records = [(n, [cell_read(cell) for cell in record]) for n, record in enumerate(reader, 1) if record]
    except csv.Error as exc:
        raise BatchInputError(f"The CSV file cannot be read: {exc}.") from exc
    header = [cell.strip().lower() for cell in records[0][1]] if records else []
    has_header = "text" in header
    if has_header:
        text_col, id_col = header.index("text"), header.index("id") if "id" in header else None
        records = records[1:]
    else:
        text_col, id_col = 0, None
    _check_count(len(records), max_items)
    rows, errors = [], []
    for row, record in records:
        if not has_header and len(record) != 1:
            errors.append({"row": row, "error": f"{len(record)} cells; quote texts with commas, or add a header row "
                                                "with a `text` column"})  # fmt: skip
            continue
        if text_col >= len(record):
            errors.append({"row": row, "error": "no `text` cell"})
            continue
        external_id = record[id_col] if id_col is not None and id_col < len(record) else ""
        rows.append(_checked(record[text_col], external_id, row, max_chars, errors))
    return _result(rows, errors)


def _check_count(count: int, max_items: int) -> None:
    if count > max_items:
        raise BatchInputError(f"{count} texts: a job holds at most {max_items}; split the file.", too_large=True)


def _checked(text: str, external_id: str, row: int, max_chars: int, errors: list[dict]) -> BatchText:
    if not text.strip():
        errors.append({"row": row, "error": "empty text"})
    elif len(text) > max_chars:
        errors.append({"row": row, "error": f"{len(text)} characters; at most {max_chars}"})
    elif len(external_id) > MAX_ID_CHARS:
        errors.append({"row": row, "error": f"id longer than {MAX_ID_CHARS} characters"})
    elif "\x00" in text or "\x00" in external_id:
        errors.append({"row": row, "error": "NUL character"})  # PostgreSQL text cannot hold it
    return BatchText(text=text, external_id=external_id)


def _result(rows: list[BatchText], errors: list[dict]) -> list[BatchText]:
    if errors:
        raise BatchInputError(f"{len(errors)} invalid rows; nothing was stored.", errors[:MAX_REPORTED_ERRORS])
    if not rows:
        raise BatchInputError("No texts to classify.")
    return rows
