"""The cost curve: runs of `python -m bench` on books of different sizes (the same
batch size), side by side, one row per workflow, with what each should do as the book
grows: reads of a page and single-record steps stay flat; batch create, delete and
transfer grow with the batch (the same in every run), not with the book; month-end
(every unposted record) grows with the book, because its batch is the book.

    python -m bench.curve bench/results/250k.json bench/results/1m.json bench/results/4m.json

Prints a Markdown table (for bench/README.md).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path

Row = tuple[str, str, Callable[[dict], float | None], str]


def _request(interface: str, what: str, depth: str) -> Callable[[dict], float | None]:
    def read(report: dict) -> float | None:
        for r in report["lists"]["requests"]:
            if (r["interface"], r["what"], r["depth"]) == (interface, what, depth):
                return r.get("median_ms")
        return None

    return read


def _single(report: dict) -> float:
    return max(s["median_ms"] for s in report["single"] if s["batch"] == "big")


def _trail(report: dict) -> float | None:
    trail = [s["median_ms"] for s in report["single"] if s["action"] == "audit trail (selector)"]
    return max(trail) if trail else None


def _deleted(depth: str) -> Callable[[dict], float | None]:
    def read(report: dict) -> float | None:
        page = report.get("deleted_page") or {}
        return page.get(depth, {}).get("median_ms")

    return read


def _transfer(key: str) -> Callable[[dict], float | None]:
    def read(report: dict) -> float | None:
        for t in report["transfer"]["formats"]:
            if t["format"] == "gl_journal_csv":
                return t[key]
        return None

    return read


def _batch(action: str, key: str) -> Callable[[dict], float]:
    return lambda report: report["batch"][action][key]


def _month_end(report: dict) -> float | None:
    month_end = report.get("month_end")
    return month_end["seconds"] if month_end else None


FLAT, BATCH, BOOK = "flat", "with the batch", "with the book"
ROWS: list[Row] = [
    ("API unposted invoices, first page", "ms", _request("API", "invoice", "first"), FLAT),
    ("API unposted invoices, last page", "ms", _request("API", "invoice", "last"), FLAT),
    ("API unposted, all kinds, last page", "ms", _request("API", "all kinds", "last"), FLAT),
    ("Accounting Interface page, first page", "ms", _request("page", "invoice", "first"), FLAT),
    ("Accounting Interface page, last page", "ms", _request("page", "invoice", "last"), FLAT),
    ("unbatch / rebatch one record, slowest kind", "ms", _single, FLAT),
    ("a record's audit trail, slowest kind", "ms", _trail, FLAT),
    ("deleted batch's page, first page", "ms", _deleted("first"), FLAT),
    ("deleted batch's page, last page", "ms", _deleted("last"), FLAT),
    ("batch create", "s", _batch("create", "seconds"), BATCH),
    ("batch create, its floor", "s", _batch("create", "floor_seconds"), BATCH),
    ("batch delete", "s", _batch("delete", "seconds"), BATCH),
    ("batch delete, its floor", "s", _batch("delete", "floor_seconds"), BATCH),
    ("transfer gl_journal_csv", "s", _transfer("seconds"), BATCH),
    ("transfer gl_journal_csv, a tenth of the batch", "s", _transfer("small_seconds"), BATCH),
    ("transfer gl_journal_csv, its floor", "s", _transfer("floor_seconds"), BATCH),
    ("month-end: every unposted record", "s", _month_end, BOOK),
]


def table(reports: list[dict]) -> str:
    def size(report: dict) -> str:
        meta = report["meta"]
        return f"{meta['records']:,} records (batch {report['batch']['records']:,})"

    lines = [
        "| workflow | " + " | ".join(size(r) for r in reports) + " | should |",
        "|---|" + "---:|" * len(reports) + "---|",
    ]
    for label, unit, read, should in ROWS:
        values = [read(r) for r in reports]
        if all(v is None for v in values):
            continue
        cells = ["-" if v is None else f"{v:,.1f} {unit}" for v in values]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {should} |")
    month_end = [r.get("month_end") for r in reports]
    if any(month_end):
        cells = [f"{m['records']:,}" if m else "-" for m in month_end]
        lines.append("| month-end: its records | " + " | ".join(cells) + " | the book's unposted |")
    took = [f"{r['build'].get('seconds')} s / {r['meta']['total_seconds']} s" for r in reports]
    lines.append("| book built / whole run | " + " | ".join(took) + " | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        sys.exit(__doc__)
    reports = sorted((json.loads(p.read_text()) for p in paths), key=lambda r: r["meta"]["records"])
    print(table(reports), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
