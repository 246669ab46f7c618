"""What a batch's downloads are called and what they hold, for the page and the API
alike: the export file and the checklist of originals to remove.

A batch's file is stored under a name the product makes (`batches/<pk>/batch-<pk>.<ext>`);
the name offered to the browser comes from the batch ID, with anything but letters,
digits, `-`, `_`, `.` and spaces made a `-`, so a batch ID typed as `q"; filename=x.exe`
or `2026/11` is offered as `q-- filename-x.exe.csv` or `2026-11.csv`. The interfaces put
it in a Content-Disposition header built as Django's FileResponse builds it (RFC 6266:
a quoted filename, or `filename*=utf-8''...` for non-ASCII).
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import Any, TextIO

from accounting.exporters import get_exporter
from accounting.exporters.base import CSVWriter, text_cell

CHECKLIST_CONTENT_TYPE = "text/csv; charset=utf-8"
CHECKLIST_COLUMNS = (
    "record",
    "type",
    "id",
    "original_batch",
    "sent_at",
    "external_reference",
    "removal",
)
# \w is a Unicode letter or digit, or "_".
_NOT_IN_FILENAMES = re.compile(r"[^\w\-. ]")


def download_filename(batch_identifier: str, suffix: str, *, batch_pk: int) -> str:
    """The name a browser is offered for a download of the batch: its ID with every
    character but letters, digits, - _ . and spaces made a '-', then `suffix`. Leading
    and trailing dots and spaces go (no hidden file); an ID left empty by that is
    `batch-<pk>`."""
    stem = _NOT_IN_FILENAMES.sub("-", unicodedata.normalize("NFC", batch_identifier or ""))
    return (stem.strip(". ") or f"batch-{batch_pk}") + suffix


def batch_file_download(
    *, batch_identifier: str, batch_pk: int, export_format: str
) -> tuple[str, str]:
    """The filename and the content type of a batch's export file, as its exporter
    writes it."""
    exporter = get_exporter(export_format)
    name = download_filename(batch_identifier, f".{exporter.extension}", batch_pk=batch_pk)
    return name, exporter.content_type


def checklist_download(*, batch_identifier: str, batch_pk: int) -> tuple[str, str]:
    """The filename and the content type of a batch's checklist of originals to remove."""
    name = download_filename(batch_identifier, "-originals-to-remove.csv", batch_pk=batch_pk)
    return name, CHECKLIST_CONTENT_TYPE


def write_checklist(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """The originals a batch replaced, one CSV row each, to work through in the
    accounting package; every text cell as `text_cell` makes it. Returns the rows."""
    writer = CSVWriter(out)
    writer.writerow(CHECKLIST_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(
            (
                text_cell(row["reference"]),
                text_cell(row["type"]),
                str(row["id"]),
                text_cell(row["batch_identifier"]),
                row["sent_at"].isoformat(),
                text_cell(row["external_reference"]),
                text_cell(row["removal"] or "to remove"),
            )
        )
        count += 1
    writer.flush()
    return count


DIFFERENCE_COLUMNS = (
    "record",
    "type",
    "id",
    "class",
    "batch",
    "psa_sent",
    "psa_now",
    "package",
    "fixed",
)


def _lines_text(lines: list | None) -> str:
    return "; ".join(f"{number} {amount}" for number, amount in lines or [])


def write_differences(rows: Iterable[Any], out: TextIO) -> int:
    """A books check's differences, one CSV row each, with both sides' values: what was
    sent (batch and lines), the record now (date and lines), and each transaction the
    package holds (batch, date, lines). Returns the rows."""
    writer = CSVWriter(out)
    writer.writerow(DIFFERENCE_COLUMNS)
    count = 0
    for row in rows:
        sent, now = row.psa.get("sent"), row.psa.get("current")
        writer.writerow(
            (
                text_cell(row.reference),
                text_cell(row.record_type),
                str(row.record_id),
                row.get_kind_display(),
                text_cell(row.batch_identifier),
                text_cell(f"{sent['batch']}: {_lines_text(sent['lines'])}" if sent else ""),
                text_cell(f"{now['date']}: {_lines_text(now['lines'])}" if now else ""),
                text_cell(
                    " | ".join(
                        f"{copy['batch']} {copy['date'] or ''}: {_lines_text(copy['lines'])}"
                        for copy in row.package
                    )
                ),
                row.fix or "",
            )
        )
        count += 1
    writer.flush()
    return count
