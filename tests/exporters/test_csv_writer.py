import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.exporters.base import CSVWriter, csv_text, text_cell
from tests.exporters.strategies import awkward_text

rows = st.lists(st.lists(st.one_of(awkward_text, st.just("")), max_size=6), max_size=8)


def stdlib_csv(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue()


@settings(max_examples=1000, deadline=None)
@given(rows)
def test_csv_text_is_what_csv_writer_writes(rows):
    assert csv_text(rows) == stdlib_csv(rows)


@settings(max_examples=300, deadline=None)
@given(rows)
def test_csv_text_of_text_cells_is_what_csv_writer_writes(rows):
    """The cells the writers make (a quote before a formula, text on one line) go
    through csv_text as csv.writer would write them too."""
    cells = [[text_cell(field) for field in row] for row in rows]
    assert csv_text(cells) == stdlib_csv(cells)


def test_csv_text_quotes_only_the_fields_that_need_it():
    rows = [
        ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", ""],
        [""],
        [],
        ["", ""],
    ]
    expected = 'plain,"a,b","say ""hi""","line\nbreak","cr\rhere",\r\n""\r\n\r\n,\r\n'
    assert csv_text(rows) == expected == stdlib_csv(rows)


def test_csv_writer_writes_rows_a_few_thousand_at_a_time_and_the_rest_on_flush():
    out = io.StringIO(newline="")
    writer = CSVWriter(out)
    writer.writerow(["batch", "amount"])
    writer.writerows([["GL-1", str(n)] for n in range(CSVWriter.ROWS_PER_WRITE - 2)])
    assert out.getvalue() == ""
    writer.writerow(["GL-1", "last of the first write"])
    assert out.getvalue().count("\r\n") == CSVWriter.ROWS_PER_WRITE
    writer.writerow(["GL-2", "held"])
    assert out.getvalue().count("\r\n") == CSVWriter.ROWS_PER_WRITE
    writer.flush()
    assert out.getvalue().startswith("batch,amount\r\nGL-1,0\r\n")
    assert out.getvalue().endswith("GL-1,last of the first write\r\nGL-2,held\r\n")
