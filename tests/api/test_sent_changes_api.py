"""The API says which records changed since they were sent, with both sides: on a
batch's items (rebatched after an edit) and on the unposted list (unbatched and edited,
waiting for a new batch). Fields only added; every response is checked against the
served schema."""

from decimal import Decimal

import pytest

from accounting import services as accounting
from invoicing import services as invoice_services
from tests.helpers import send, status

pytestmark = pytest.mark.django_db


def edit(actor, invoice, quantity: str) -> None:
    accounting.record_unbatch(actor=actor, record_type="invoice", record_id=invoice.pk)
    invoice.refresh_from_db()
    invoice = invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("New"))
    invoice = invoice_services.invoice_update(
        actor=actor,
        invoice=invoice,
        lines=[{"description": "Corrected", "quantity": Decimal(quantity), "unit_price": 100}],
    )
    invoice_services.invoice_update(actor=actor, invoice=invoice, status=status("Closed"))


def test_batch_items_and_unposted_items_carry_what_was_sent_beside_the_record_now(
    api, finance, make_invoice, django_capture_on_commit_callbacks
):
    kept, rebatched, unbatched = make_invoice(), make_invoice(), make_invoice()
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": i.pk} for i in (kept, rebatched, unbatched)],
        transfer="file",
    )
    edit(finance, rebatched, "3")
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=rebatched.pk)
    edit(finance, unbatched, "4")
    client = api(finance)

    items = client.get(f"/api/v1/accounting/batches/{batch.pk}/items/").json()
    by_id = {item["id"]: item for item in items}
    assert by_id[kept.pk]["changed_since_sent"] is None
    changed = by_id[rebatched.pk]["changed_since_sent"]
    assert changed["batch"] == batch.batch_identifier and changed["in_batch"] is True
    assert changed["method"] == "file" and changed["header_changed"] is False
    assert (changed["sent"]["total"], changed["now"]["total"]) == ("1623.75", "324.75")
    assert (changed["sent"]["tax"], changed["now"]["tax"]) == ("123.75", "24.75")
    # Unbatched from the batch: listed as such, its change told on the unposted list.
    assert by_id[unbatched.pk]["state"] == "unbatched"

    unposted = client.get("/api/v1/accounting/unposted/", {"type": "invoice"}).json()["results"]
    [row] = [row for row in unposted if row["id"] == unbatched.pk]
    assert row["previously_sent"][0]["batch_identifier"] == batch.batch_identifier
    assert row["changed_since_sent"]["in_batch"] is False
    assert row["changed_since_sent"]["now"]["total"] == "433.00"

    # Once the package is updated by hand, nothing is left to report.
    accounting.sent_change_confirm(actor=finance, record_type="invoice", record_id=rebatched.pk)
    items = client.get(f"/api/v1/accounting/batches/{batch.pk}/items/").json()
    assert all(item["changed_since_sent"] is None for item in items)


def test_a_record_answers_its_change_and_the_clerk_marks_the_package_updated(
    api, finance, staff, make_invoice, make_purchase_order, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    order, _line = make_purchase_order()
    send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}, {"type": "freight", "id": order.pk}],
        transfer="file",
    )
    client = api(finance)
    url = f"/api/v1/invoices/{invoice.pk}/"
    assert client.get(f"{url}changed-since-sent/").json() == {"changed_since_sent": None}
    freight = client.get(f"/api/v1/purchase-orders/{order.pk}/changed-since-sent/").json()
    assert freight == {"changed_since_sent": None}

    edit(finance, invoice, "3")
    accounting.record_rebatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    changed = client.get(f"{url}changed-since-sent/").json()["changed_since_sent"]
    assert changed["in_batch"] and changed["now"]["total"] == "324.75"

    # Staff may not; a direct update is refused for an export file; then the clerk's word.
    response = api(staff).post(f"{url}package-updated/")
    assert response.status_code == 403
    response = client.post(f"{url}update-in-package/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    response = client.post(f"{url}package-updated/")
    assert response.status_code == 200 and response.json()["total"] == "324.75"
    assert client.get(f"{url}changed-since-sent/").json() == {"changed_since_sent": None}
    response = client.post(f"{url}package-updated/")
    assert response.status_code == 409 and "nothing to update" in response.json()["detail"]
    actions = [event["action"] for event in client.get(f"{url}audit/").json()]
    assert actions.count("package_updated_by_hand") == 1
