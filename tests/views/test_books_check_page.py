"""The Books check page: Finance starts a run, reads its counts and differences with
filters, exports them as CSV and fixes one in a click; other roles are refused."""

import csv
import io

import pytest

from accounting.models import AccountingSetup, AuditEvent, Reconciliation
from tests import helpers

PAGE = "/finance/books-check/"


@pytest.fixture
def ledger(ledger_root, db):
    AccountingSetup.objects.filter(pk=1).update(
        package="beancount", direct_transfer=True, options={"ledger_path": "books.beancount"}
    )
    return ledger_root / "books.beancount"


def drop_from_ledger(ledger, record_id: int) -> None:
    text = ledger.read_text()
    at = text.index(f'psa_record: "invoice:{record_id}"')
    begin = text.rindex("\n\n", 0, at) + 2
    ledger.write_text(text[:begin] + text[text.index("\n\n", at) + 2 :])


def test_finance_checks_the_books_filters_exports_and_fixes_a_miss(
    ledger, finance, finance_client, make_invoice, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    kept, lost = make_invoice(), make_invoice()
    helpers.send(
        capture,
        finance,
        [{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": lost.pk}],
        transfer="direct",
    )
    drop_from_ledger(ledger, lost.pk)
    assert "No books check has run yet" in finance_client.get(PAGE).content.decode()

    with capture(execute=True):
        response = finance_client.post(PAGE + "start/", {"batch": "", "date_from": ""})
    run = Reconciliation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?run={run.pk}"
    page = finance_client.get(response["Location"]).content.decode()
    assert 'data-count="in_step">1<' in page and 'data-count="missing">1<' in page
    assert f'data-difference="invoice-{lost.pk}"' in page and "Send it again" in page

    filtered = finance_client.get(PAGE, {"run": run.pk, "kind": "duplicated"}).content.decode()
    assert "data-difference=" not in filtered and "No differences of this filter" in filtered

    exported = finance_client.get(PAGE + "differences.csv", {"run": run.pk})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(row["id"], row["class"]) for row in rows] == [(str(lost.pk), "Missing")]
    assert rows[0]["package"] == "" and rows[0]["psa_sent"].startswith("GL-")

    home = finance_client.get("/").content.decode()
    assert '<span class="tile-count" data-differences>1</span>' in home and "1 missing" in home

    difference = run.differences.get()
    with capture(execute=True):
        fixed = finance_client.post(
            PAGE + f"differences/{difference.pk}/fix/", {"next": f"{PAGE}?run={run.pk}"}
        )
    assert fixed.status_code == 302
    assert "was sent again" in finance_client.get(fixed["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="books_check_resend", record_id=lost.pk).exists()

    with capture(execute=True):
        finance_client.post(PAGE + "start/", {})
    assert Reconciliation.objects.first().counts["in_step"] == 2


def test_a_bad_start_is_a_message_and_changes_nothing(ledger, finance_client):
    response = finance_client.post(PAGE + "start/", {"batch": "NO-SUCH"}, follow=True)
    assert "There is no open or closed GL batch NO-SUCH" in response.content.decode()
    response = finance_client.post(PAGE + "start/", {"date_from": "tomorrow"}, follow=True)
    assert "is not a date" in response.content.decode()
    assert not Reconciliation.objects.exists()


def test_other_roles_cannot_see_or_run_the_books_check(client, staff, approver):
    for user in (staff, approver):
        client.force_login(user)
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE + "start/").status_code == 403
