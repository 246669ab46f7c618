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
