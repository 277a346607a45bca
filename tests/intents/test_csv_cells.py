"""The spreadsheet guard of every CSV Charla writes (intents/csv_cells.py): what it changes; reading undoes it."""

import csv
import io

import pytest

from intents.csv_cells import SpreadsheetWriter, cell_read, cell_write


@pytest.mark.parametrize(
    ("value", "written"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"), ("\rx", "'\rx"),
     ("'=x", "''=x"), ("''-x", "'''-x"), ("'x", "'x"), ("a=b", "a=b"), ("", ""), ("'", "'"), (-1, -1), (0.5, 0.5)],
)  # fmt: skip
def test_formula_like_texts_get_one_quote_and_reading_removes_it(value, written):
    """OWASP's prefix on texts only; a text read back is the text written, quotes of its own included."""
    assert cell_write(value) == written
    if isinstance(value, str):
        assert cell_read(written) == value


def test_the_writer_guards_every_cell_of_every_row():
    """`SpreadsheetWriter` is csv.writer with the guard on each cell, for writerow and writerows alike."""
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer, lineterminator="\n")
    writer.writerow(["=a", "b"])
    writer.writerows([["@c", 3], ["d", "-e"]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'=a", "b"], ["'@c", "3"], ["d", "'-e"]]
