"""CSV that is safe to open in a spreadsheet, and read back unchanged by Charla's own imports.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice and Google
Sheets, so a text a visitor or an operator typed could run as one when an operator opens an export ("CSV
injection"). OWASP's advice is to prefix such a cell with `'`, which the spreadsheet shows as text. Every CSV
Charla writes for people goes through `SpreadsheetWriter`, and every CSV it reads through `cell_read`, so that one rule
holds everywhere and an export imports back as it was.

The prefix is reversible: a text cell gets one more `'` when what follows its leading quotes starts with one of
those characters (so `'=x` is written `''=x`), and reading removes one `'` from exactly such cells. A hand-written
cell `'=x` therefore imports as `=x`, as a spreadsheet would show it. Numbers and booleans are written as they are:
they are values, not formulas. Knows nothing of Django.
"""

import csv
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_write(value: Any) -> Any:
    """`value` as a spreadsheet must see it: texts that would be read as a formula get a leading `'`."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell_read(cell: str) -> str:
    """A cell as `cell_write` was given it: the one `'` it added is removed."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


class SpreadsheetWriter:
    """`csv.writer` whose rows pass through `cell_write`."""

    def __init__(self, buffer, **fmtparams) -> None:
        self._writer = csv.writer(buffer, **fmtparams)

    def writerow(self, row) -> Any:
        return self._writer.writerow([cell_write(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)
