import csv
import io
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path

from accounting.exporters import get_exporter
from accounting.exporters.base import money, text_cell

GOLDEN = Path(__file__).parent / "golden"


def render(format: str, postings, options=None, batch_identifier: str = "GL-0042") -> str:
    out = io.StringIO(newline="")
    written = get_exporter(format).write(
        postings, out, batch_identifier=batch_identifier, options=options or {}
    )
    assert written == len(postings)
    return out.getvalue()


def assert_golden(name: str, text: str) -> None:
    """Byte for byte. UPDATE_GOLDEN=1 rewrites the file; review the diff by hand."""
    path = GOLDEN / name
    data = text.encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(data)
    assert data == path.read_bytes()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_crlf_only(text: str) -> None:
    assert not text.startswith("\ufeff")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def net(line) -> Decimal:
    return line.debit - line.credit


def gl_multiset(lines, *, name=lambda line: line.account_name, sign: int = 1) -> Counter:
    return Counter((text_cell(name(line)), money(sign * net(line))) for line in lines)
