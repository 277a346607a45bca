"""CSV of training examples: `intent,text[,lang]`, one example a row, an optional header row.

Cells are written and read through intents/csv_cells.py (formula-like texts carry a leading `'` in the file)."""

import csv
import io

from ..csv_cells import SpreadsheetWriter, cell_read
from .common import Definition, Files, ImportFormatError, check_language, check_name, check_text

HEADERS = (["intent", "text"], ["intent", "text", "lang"])


def csv_to_definition(files: Files, *, language: str) -> Definition:
    """Intents with their examples; rows without `lang` are in `language`. Covers examples only."""
    if len(files) != 1:
        raise ImportFormatError(", ".join(sorted(files)) or "upload", "expected one CSV file.")
    [(name, text)] = files.items()
    intents: dict[str, dict[str, list[str]]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            row, line = [cell_read(cell) for cell in cells], reader.line_num
            if not any(cell.strip() for cell in row) or (line == 1 and [c.strip().lower() for c in row] in HEADERS):
                continue
            if len(row) not in (2, 3):
                raise ImportFormatError(name, f"expected 2 or 3 columns (intent,text[,lang]), found {len(row)}.", line)
            intent = check_name(row[0].strip(), "intent", name, line)
            lang = check_language(row[2].strip(), name, line) if len(row) == 3 and row[2].strip() else language
            examples = intents.setdefault(intent, {}).setdefault(lang, [])
            if (example := check_text(row[1], name, line)) not in examples:
                examples.append(example)
    except csv.Error as exc:
        raise ImportFormatError(name, f"not valid CSV: {exc}.", reader.line_num) from exc
    if not intents:
        raise ImportFormatError(name, "no examples found.")
    languages = sorted({lang for by_language in intents.values() for lang in by_language})
    return {
        "languages": languages,
        "intents": [{"slug": slug, "examples": examples} for slug, examples in intents.items()],
    }


def csv_from_definition(definition: Definition, *, language: str | None = None) -> Files:
    """All examples (or one language's) as `intent,text,lang`, with a header row; texts a spreadsheet would take
    for a formula get a leading `'` (intents/csv_cells.py), which the import removes."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer, lineterminator="\n")
    writer.writerow(HEADERS[1])
    for intent in definition["intents"]:
        for lang, texts in intent.get("examples", {}).items():
            if language in (None, lang):
                writer.writerows([intent["slug"], text, lang] for text in texts)
    return {f"{definition['slug']}.csv": buffer.getvalue()}
