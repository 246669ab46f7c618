"""The books check over the API: start a run, read its counts and differences, fix a
difference; Finance only, refusals in the API's error shape."""

import pytest

from accounting.models import AccountingSetup
from tests.helpers import DAY


@pytest.fixture
def ledger(ledger_root, db):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


def start(client, capture, **body):
    with capture(execute=True):
        response = client.post("/api/v1/accounting/reconciliations/", body)
    assert response.status_code == 201, response.json()
    return client.get(f"/api/v1/accounting/reconciliations/{response.json()['id']}/").json()


def test_a_missing_record_is_listed_and_sent_again_through_the_api(
    api, send, ledger, finance, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    kept, lost = make_invoice(), make_invoice()
    batch = send([{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": lost.pk}])
    text = ledger.read_text()
    at = text.index(f'psa_record: "invoice:{lost.pk}"')
    begin = text.rindex("\n\n", 0, at) + 2
    ledger.write_text(text[:begin] + text[text.index("\n\n", at) + 2 :])
    client = api(finance)

    run = start(client, capture, batch_id=batch["id"])
    assert run["state"] == "done" and run["progress"] == 100
    assert run["batch"] == batch["batch_identifier"]
    assert run["counts"]["in_step"] == 1 and run["differences_count"] == 1
    [difference] = run["differences"]
    assert difference["kind"] == "missing" and difference["record_id"] == lost.pk
    assert difference["fixable"] is True and difference["package"] == []
    assert difference["psa"]["sent"]["batch"] == batch["batch_identifier"]

    listed = client.get("/api/v1/accounting/reconciliations/").json()
    assert [row["id"] for row in listed["results"]] == [run["id"]]
    page = client.get(
        f"/api/v1/accounting/reconciliations/{run['id']}/differences/", {"kind": "duplicated"}
    ).json()
    assert page["count"] == 0

    with capture(execute=True):
        response = client.post(
            f"/api/v1/accounting/reconciliation-differences/{difference['id']}/fix/"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["fix"] == "resend" and response.json()["fixable"] is False
    again = client.post(f"/api/v1/accounting/reconciliation-differences/{difference['id']}/fix/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    after = start(client, capture)
    assert after["counts"]["in_step"] == 2 and after["differences_count"] == 0


def test_refusals_come_in_the_error_shape(api, ledger, finance, staff, approver):
    client = api(finance)
    backward = client.post(
        "/api/v1/accounting/reconciliations/",
        {"date_from": DAY.isoformat(), "date_to": DAY.replace(day=1).isoformat()},
    )
    assert backward.status_code == 400 and backward.json()["code"] == "validation_error"
    assert "date_to" in backward.json()["fields"]
    missing = client.post("/api/v1/accounting/reconciliations/", {"batch_id": 999999})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    for user in (staff, approver):
        denied = api(user).get("/api/v1/accounting/reconciliations/")
        assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    AccountingSetup.objects.filter(pk=1).update(package="quickbooks_online", direct_transfer=False)
    refused = client.post("/api/v1/accounting/reconciliations/", {})
    assert refused.status_code == 409 and refused.json()["code"] == "no_connector"
    assert "export files only" in refused.json()["detail"]


def test_an_uploaded_quickbooks_report_is_checked_and_a_bad_one_refused_with_its_line(
    api, finance, make_invoice, settings, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounting.models import Reconciliation
    from tests.helpers import send as send_records
    from tests.workflows.test_books_check_upload import file_setup, report

    capture = django_capture_on_commit_callbacks
    file_setup("quickbooks_online", "quickbooks_online_csv")
    kept, lost, twice = make_invoice(), make_invoice(), make_invoice()
    send_records(
        capture,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (kept, lost, twice)],
        transfer="file",
    )
    content = report("quickbooks_gl_report.csv", {"INV-A": kept.number, "INV-C": twice.number})
    client = api(finance)
    url = "/api/v1/accounting/reconciliations/upload/"

    bad = content.replace(b'"1,623.75"', b'"1,6a3.75"', 1)
    refused = client.post(
        url,
        {"format": "quickbooks_gl_report", "file": SimpleUploadedFile("gl.csv", bad)},
        format="multipart",
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "validation_error"
    assert body["fields"]["file"] == ["Line 8: Debit is '1,6a3.75', which is not an amount."]
    assert not Reconciliation.objects.exists()

    settings.API_FILE_UPLOADS = {url: 200}
    big = client.post(
        url,
        {"format": "quickbooks_gl_report", "file": SimpleUploadedFile("gl.csv", content)},
        format="multipart",
    )
    assert big.status_code == 413 and big.json()["code"] == "request_too_large"
    settings.API_FILE_UPLOADS = {}

    with capture(execute=True):
        response = client.post(
            url,
            {"format": "quickbooks_gl_report", "file": SimpleUploadedFile("gl.csv", content)},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["source"] == "upload"
    assert created["upload"] == {"format": "quickbooks_gl_report", "name": "gl.csv", "rows": 11}
    run = client.get(f"/api/v1/accounting/reconciliations/{created['id']}/").json()
    assert run["state"] == "done"
    assert run["counts"]["in_step"] == 1
    kinds = {d["record_id"]: (d["kind"], d["fixable"]) for d in run["differences"]}
    assert kinds == {lost.pk: ("missing", False), twice.pk: ("duplicated", False)}
    fix = client.post(
        f"/api/v1/accounting/reconciliation-differences/{run['differences'][0]['id']}/fix/"
    )
    assert fix.status_code == 409 and fix.json()["code"] == "not_fixable"
