"""The books check of a package that takes export files: the package's own export of
the period (QuickBooks' and Xero's general-ledger reports, this product's GL journal
CSV) uploaded, read strictly, and compared with the export files sent to it."""

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounting import services as accounting
from accounting.models import (
    AccountingSetup,
    AuditEvent,
    Reconciliation,
    ReconciliationUploadLine,
)
from tests.helpers import DAY, refused, send
from tests.workflows.test_books_check import edit_and_rebatch

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "books_check"


def report(name: str, numbers: dict[str, str]) -> bytes:
    """A sample export with the sample's invoice numbers (INV-A...) replaced by the
    test's own."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for placeholder, number in numbers.items():
        text = text.replace(placeholder, number)
    return text.encode("utf-8")


def upload(capture, actor, upload_format: str, content: bytes, name="export.csv", **dates):
    with capture(execute=True):
        run = accounting.reconciliation_upload(
            actor=actor,
            upload_format=upload_format,
            file=SimpleUploadedFile(name, content, content_type="text/csv"),
            **dates,
        )
    run.refresh_from_db()
    assert run.state == "done", run.error
    return run


def classes(run: Reconciliation) -> dict[int, str]:
    return dict(run.differences.values_list("record_id", "kind"))


def file_setup(package: str, export_format: str, **options) -> None:
    AccountingSetup.objects.filter(pk=1).update(
        package=package, direct_transfer=False, export_format=export_format, options=options
    )


@pytest.fixture
def quickbooks(db):
    file_setup("quickbooks_online", "quickbooks_online_csv")


def test_a_quickbooks_report_shows_each_class(
    quickbooks, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    in_step, missing, duplicated, edited = (make_invoice() for _ in range(4))
    # Sent earlier to another package: the report holds it, no file to QuickBooks did.
    file_setup("xero", "xero_csv")
    stranger = make_invoice()
    send(capture, finance, [{"type": "invoice", "id": stranger.pk}], transfer="file")
    file_setup("quickbooks_online", "quickbooks_online_csv")
    send(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (in_step, missing, duplicated, edited)],
        transfer="file",
    )
    edited = edit_and_rebatch(finance, edited)
    content = report(
        "quickbooks_gl_report.csv", {"INV-A": in_step.number, "INV-C": duplicated.number}
    )
    # The edited invoice and the stranger, as the package holds them (sent before any edit).
    extra = (
        f',11/03/2026,Invoice,{edited.number},Acme Corp,,-Split-,"1,623.75",,0\r\n'
        f',11/03/2026,Invoice,{stranger.number},Acme Corp,,-Split-,"1,623.75",,0\r\n'
    ).encode()
    income = (
        f',11/03/2026,Invoice,{edited.number},Acme Corp,,A/R,,"1,500.00",0\r\n'
        f',11/03/2026,Invoice,{stranger.number},Acme Corp,,A/R,,"1,500.00",0\r\n'
    ).encode()
    tax = (
        f",11/03/2026,Invoice,{edited.number},Acme Corp,,A/R,,123.75,0\r\n"
        f",11/03/2026,Invoice,{stranger.number},Acme Corp,,A/R,,123.75,0\r\n"
    ).encode()
    content = (
        content.replace(b"Total for Accounts receivable", extra + b"Total for Accounts receivable")
        .replace(b"Total for Income", income + b"Total for Income")
        .replace(b"Total for Sales tax payable", tax + b"Total for Sales tax payable")
    )

    run = upload(capture, finance, "quickbooks_gl_report", content, name="GL November.csv")

    assert run.source == "upload" and run.upload_name == "GL November.csv"
    assert (run.date_from, run.date_to) == (DAY, DAY.replace(day=20))
    assert classes(run) == {
        missing.pk: "missing",
        duplicated.pk: "duplicated",
        edited.pk: "changed_in_psa",
        stranger.pk: "unknown",
    }
    assert run.counts == {
        "in_step": 1,
        "missing": 1,
        "duplicated": 1,
        "changed_in_package": 0,
        "changed_in_psa": 1,
        "unknown": 1,
    }
    duplicate = run.differences.get(record_id=duplicated.pk)
    assert len(duplicate.package) == 2
    assert duplicate.package[0]["lines"] == [
        ["1200", "1623.75"],
        ["2200", "-123.75"],
        ["4000", "-1500.00"],
    ]
    # Held only while the run compared them.
    assert not ReconciliationUploadLine.objects.exists()
    assert AuditEvent.objects.filter(
        action="books_check_started", changes__upload="GL November.csv"
    ).exists()
    # What an export showed is reported only: the product cannot change the package.
    with refused("not_fixable") as refusal:
        accounting.difference_fix(actor=finance, difference_id=duplicate.pk)
    assert "upload a new export" in refusal.value.message


def test_a_xero_report_finds_an_amount_changed_in_the_package(
    db, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    file_setup("xero", "xero_csv")
    kept, changed = make_invoice(), make_invoice()
    send(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (kept, changed)],
        transfer="file",
    )
    content = report("xero_gl_report.csv", {"INV-A": kept.number, "INV-B": changed.number})
    # Income corrected by hand in Xero: 1,400.00 instead of 1,500.00.
    content = content.replace(
        f'Managed services,{changed.number},Invoice {changed.number},,"1,500.00"'.encode(),
        f'Managed services,{changed.number},Invoice {changed.number},,"1,400.00"'.encode(),
    )
    run = upload(capture, finance, "xero_gl_report", content)
    assert classes(run) == {changed.pk: "changed_in_package"}
    assert run.counts["in_step"] == 1
    difference = run.differences.get()
    assert ["4000", "-1400.00"] in difference.package[0]["lines"]
    assert ["4000", "-1500.00"] in difference.psa["sent"]["lines"]


def test_the_products_gl_journal_csv_tells_copies_apart_by_batch(
    db, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    file_setup("other", "gl_journal_csv")
    first, second = make_invoice(), make_invoice()
    batch = send(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (first, second)],
        transfer="file",
    )
    content = report(
        "gl_journal.csv",
        {"INV-A": first.number, "INV-B": second.number, "GL-A": batch.batch_identifier},
    )
    run = upload(capture, finance, "gl_journal_csv", content)
    assert classes(run) == {second.pk: "duplicated"}
    assert sorted(copy["batch"] for copy in run.differences.get().package) == sorted(
        ["GL-OLD", batch.batch_identifier]
    )
    # The same export, checked again, is read again: in step and duplicated as before.
    again = upload(capture, finance, "gl_journal_csv", content, date_from=DAY, date_to=DAY)
    assert again.counts["in_step"] == 1 and again.counts["duplicated"] == 1


@pytest.mark.parametrize(
    ("upload_format", "content", "says"),
    [
        (
            "gl_journal_csv",
            b"batch,record_type,reference,date,account_number,account_name,debit,credit,memo\r\n"
            b"B1,invoice,Invoice INV-1,2026-11-03,1200,AR,12.x0,0.00,\r\n",
            "Line 2: debit is '12.x0', which is not an amount.",
        ),
        (
            "gl_journal_csv",
            b"batch,record_type,reference,date,account_number,account_name,debit,credit,memo\r\n"
            b"B1,invoice,Invoice INV-1,2026-11-03,1200,AR,1.00,0.00,\r\n"
            b"B1,invoice,Invoice INV-1,03/11/2026,4000,Income,0.00,1.00,\r\n",
            "Line 3: '03/11/2026' is not a date",
        ),
        (
            "gl_journal_csv",
            b"batch,record_type,reference,date,account_number,account_name,debit,credit,memo\r\n"
            b"B1,timesheet,T 1,2026-11-03,1200,AR,1.00,0.00,\r\n",
            "Line 2: record_type is 'timesheet'",
        ),
        (
            "gl_journal_csv",
            b"batch,reference,date,debit,credit\r\n",
            "Line 1: the first row must name the GL journal CSV's columns",
        ),
        (
            "quickbooks_gl_report",
            b"General Ledger\r\n\r\n,Date,Transaction Type,Num,Name,Split,Amount,Balance\r\n",
            "Line 3: the column row has no debit, credit column",
        ),
        (
            "quickbooks_gl_report",
            b",Date,Transaction Type,Num,Name,Debit,Credit\r\n"
            b",11/03/2026,Invoice,INV-1,Acme,10.00,,\r\n",
            "Line 2: a transaction before any account's heading",
        ),
        (
            "xero_gl_report",
            b"Date,Source,Reference,Debit,Credit\r\n200 - Sales\r\n"
            b"31 Feb 2026,Receivable Invoice,INV-1,,10.00\r\n",
            "Line 3: '31 Feb 2026' is not a date",
        ),
        ("xero_gl_report", "Date,Reference,Debit,Credit\r\n\u00e9".encode("latin-1"), "not UTF-8"),
        ("xero_gl_report", b"", "no column row with Date, Debit and Credit"),
    ],
)
def test_a_file_that_does_not_read_is_refused_with_its_line_and_nothing_kept(
    db, finance, upload_format, content, says
):
    with refused("validation_error") as refusal:
        accounting.reconciliation_upload(
            actor=finance,
            upload_format=upload_format,
            file=SimpleUploadedFile("bad.csv", content),
        )
    assert says in refusal.value.message
    assert refusal.value.extra["fields"]["file"] == [refusal.value.message]
    assert not Reconciliation.objects.exists()
    assert not ReconciliationUploadLine.objects.exists()
    assert not AuditEvent.objects.filter(action="books_check_started").exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(db, finance, settings):
    settings.BOOKS_CHECK_UPLOAD_MAX_BYTES = 100
    with refused("request_too_large") as refusal:
        accounting.reconciliation_upload(
            actor=finance,
            upload_format="gl_journal_csv",
            file=SimpleUploadedFile("big.csv", b"x" * 101),
        )
    assert "101 bytes" in refusal.value.message
    assert not Reconciliation.objects.exists()


def test_the_readers_stream_the_rows(db):
    """Rows come one at a time from the stream (a generator over the file)."""
    from accounting.books_upload import read_quickbooks_gl_report

    content = report("quickbooks_gl_report.csv", {"INV-A": "INV-1", "INV-C": "INV-3"})
    lines = read_quickbooks_gl_report(io.BytesIO(content))
    first = next(lines)
    assert (first.document, first.account, str(first.amount)) == (
        "INV-1",
        "Accounts receivable",
        "1623.75",
    )
    rest = list(lines)
    # The expense numbered 1043 is read too (it resolves to no record later); the
    # payment without a number is not.
    assert [line.document for line in rest].count("1043") == 2
    assert len(rest) == 2 + 1 + 3 + 3 + 1
