"""The reference page's procedures, driven through HTTP only, as an integration would:
for each kind, create it, finish it (close / approve / receive), batch it, unbatch it,
edit it, rebatch it; and the delete-batch procedure with the file-only re-record and the
re-send confirmation. Last, that no PATCH changes a batched record of any kind."""

import pytest

from accounting import services as accounting
from tests.helpers import DAY

INVOICES = "/api/v1/invoices/"
SHEETS = "/api/v1/expense-sheets/"
ENTRIES = "/api/v1/expense-entries/"
ORDERS = "/api/v1/purchase-orders/"
LINES = "/api/v1/purchase-order-lines/"
BATCHES = "/api/v1/accounting/batches/"
UNPOSTED = "/api/v1/accounting/unposted/"


def ok(response, status=200):
    assert response.status_code == status, response.json()
    return response.json()


def refused(response, code, status=409):
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["detail"]
    return body


def audit_actions(client, url):
    return [event["action"] for event in ok(client.get(f"{url}audit/"))]


def create_closed_invoice(client, book, *, price="150.00"):
    invoice = ok(
        client.post(
            INVOICES,
            {
                "company": book["client"].pk,
                "date": DAY.isoformat(),
                "tax_code": book["tax"].pk,
                "lines": [
                    {"description": "Managed services", "quantity": "10", "unit_price": price}
                ],
            },
        ),
        201,
    )
    assert invoice["status"] == "New" and not invoice["is_closed"]
    return ok(client.patch(f"{INVOICES}{invoice['id']}/", {"status": "Closed"}))


def create_approved_expense(staff_client, approver_client, book, amount="42.50"):
    sheet = ok(
        staff_client.post(SHEETS, {"period_start": "2026-11-02", "period_end": "2026-11-08"}),
        201,
    )
    entry = ok(
        staff_client.post(
            ENTRIES,
            {
                "sheet": sheet["id"],
                "date": DAY.isoformat(),
                "expense_type": book["travel"].pk,
                "amount": amount,
                "description": "Taxi to client site",
            },
        ),
        201,
    )
    ok(staff_client.post(f"{SHEETS}{sheet['id']}/submit/"))
    ok(approver_client.post(f"{SHEETS}{sheet['id']}/approve/"))
    return sheet, entry


def test_invoice_fix_up_procedure(api, finance, book, send):
    client = api(finance)
    invoice = create_closed_invoice(client, book)
    url = f"{INVOICES}{invoice['id']}/"
    assert invoice["is_closed"] and invoice["total"] == "1623.75"
    assert [i["id"] for i in ok(client.get(UNPOSTED, {"type": "invoice"}))["results"]] == [
        invoice["id"]
    ]

    batch = send([{"type": "invoice", "id": invoice["id"]}], batch_identifier="NOV-2026")
    assert batch["counts"]["invoice"] == 1 and batch["total"] == "1623.75"
    invoice = ok(client.get(url))
    assert (invoice["gl_batch"], invoice["gl_batch_id"]) == ("NOV-2026", batch["id"])

    # A batched invoice is locked: no PATCH gets around the workflow.
    locked = refused(client.patch(url, {"status": "New"}), "record_locked")
    assert locked["items"] == [
        {"type": "invoice", "id": invoice["id"], "reference": f"Invoice {invoice['number']}"}
    ]
    refused(client.patch(url, {"due_date": "2026-12-31"}), "record_locked")

    # 3. Unbatch; 4. set an open status; 5. edit, then set a closed status.
    invoice = ok(client.post(f"{url}unbatch/"))
    assert invoice["gl_batch"] is None and invoice["original_batch"] == "NOV-2026"
    refused(
        client.patch(url, {"lines": [{"description": "x", "quantity": "1", "unit_price": "1"}]}),
        "record_not_open",
    )
    ok(client.patch(url, {"status": "New"}))
    invoice = ok(
        client.patch(
            url,
            {
                "lines": [
                    {
                        "description": "Managed services (corrected)",
                        "quantity": "12",
                        "unit_price": "150.00",
                    }
                ],
                "status": "Closed",
            },
        )
    )
    assert invoice["total"] == "1948.50" and invoice["is_closed"]
    assert ok(client.get(f"{BATCHES}{batch['id']}/items/")) == [
        {
            "type": "invoice",
            "id": invoice["id"],
            "reference": f"Invoice {invoice['number']}",
            "amount": "1948.50",
            "state": "unbatched",
            "changed_since_sent": None,
        }
    ]

    # 6. Rebatch into the original batch: nothing is sent.
    invoice = ok(client.post(f"{url}rebatch/"))
    assert invoice["gl_batch"] == "NOV-2026" and invoice["original_batch"] is None
    assert ok(client.get(f"{BATCHES}{batch['id']}/"))["total"] == "1948.50"
    assert ok(client.get(f"{BATCHES}{batch['id']}/checklist/")) == []
    # The batch shows the new total; its item says the package holds the one sent.
    [item] = ok(client.get(f"{BATCHES}{batch['id']}/items/"))
    changed = item["changed_since_sent"]
    assert (changed["sent"]["total"], changed["now"]["total"]) == ("1623.75", "1948.50")
    assert changed["batch"] == "NOV-2026" and changed["in_batch"] is True
    assert audit_actions(client, url) == [
        "created",
        "status_changed",
        "batched",
        "unbatched",
        "status_changed",
        "edited",
        "rebatched",
    ]


def test_invoice_fixed_and_sent_in_a_new_batch_needs_the_resend_confirmation(
    api, finance, book, send
):
    client = api(finance)
    invoice = create_closed_invoice(client, book)
    url = f"{INVOICES}{invoice['id']}/"
    first = send([{"type": "invoice", "id": invoice["id"]}], batch_identifier="NOV-2026")
    ok(client.post(f"{url}unbatch/"))
    ok(client.patch(url, {"status": "New"}))
    ok(client.patch(url, {"due_date": "2026-12-15", "status": "Closed"}))

    unposted = ok(client.get(UNPOSTED, {"type": "invoice"}))["results"]
    assert [s["batch_identifier"] for s in unposted[0]["previously_sent"]] == ["NOV-2026"]
    refusal = send([{"type": "invoice", "id": invoice["id"]}], expect=409)
    assert refusal["code"] == "retransfer_unconfirmed"
    assert refusal["items"][0]["id"] == invoice["id"]
    assert refusal["items"][0]["previously_sent"][0]["batch_identifier"] == "NOV-2026"

    second = send([{"type": "invoice", "id": invoice["id"]}], confirm_resend=True)
    checklist = ok(client.get(f"{BATCHES}{second['id']}/checklist/"))
    assert [(c["id"], c["batch_identifier"], c["removal"]) for c in checklist] == [
        (invoice["id"], "NOV-2026", "confirmed")
    ]
    # The original batch keeps the record as unbatched until it is closed or deleted.
    assert ok(client.get(f"{BATCHES}{first['id']}/items/")) == []


def test_expense_fix_up_procedure(api, finance, approver, staff, book, send):
    member, boss, accountant = api(staff), api(approver), api(finance)
    sheet, entry = create_approved_expense(member, boss, book)
    sheet_url, url = f"{SHEETS}{sheet['id']}/", f"{ENTRIES}{entry['id']}/"
    assert ok(member.get(sheet_url))["status"] == "approved"

    batch = send([{"type": "expense", "id": entry["id"]}])
    assert ok(member.get(url))["gl_batch"] == batch["batch_identifier"]
    refused(member.patch(url, {"amount": "45.00"}), "record_locked")

    # 3. Unbatch; 4. reverse the sheet; 5. edit, submit and approve.
    entry = ok(accountant.post(f"{url}unbatch/"))
    assert entry["original_batch"] == batch["batch_identifier"]
    refused(member.patch(url, {"amount": "45.00"}), "record_not_open")
    assert ok(boss.post(f"{sheet_url}reverse/"))["status"] == "open"
    entry = ok(member.patch(url, {"amount": "45.00", "description": "Taxi, corrected"}))
    assert entry["amount"] == "45.00"
    refused(accountant.post(f"{url}rebatch/"), "record_not_ready")
    ok(member.post(f"{sheet_url}submit/"))
    assert ok(boss.post(f"{sheet_url}approve/"))["entries"][0]["is_approved"]

    # 6. Rebatch into the original batch.
    entry = ok(accountant.post(f"{url}rebatch/"))
    assert entry["gl_batch"] == batch["batch_identifier"] and entry["original_batch"] is None
    assert ok(accountant.get(f"{BATCHES}{batch['id']}/"))["total"] == "45.00"
    assert "rebatched" in audit_actions(member, url)
    assert audit_actions(member, sheet_url) == [
        "created",
        "submitted",
        "approved",
        "reversed",
        "submitted",
        "approved",
    ]


def test_reversing_a_sheet_leaves_its_batched_entries_locked(
    api, finance, approver, staff, book, send
):
    member, boss = api(staff), api(approver)
    sheet, entry = create_approved_expense(member, boss, book)
    send([{"type": "expense", "id": entry["id"]}])
    ok(boss.post(f"{SHEETS}{sheet['id']}/reverse/"))
    refused(member.patch(f"{ENTRIES}{entry['id']}/", {"amount": "1.00"}), "record_locked")


def create_purchase_order(client, book, *, freight="25.00"):
    order = ok(
        client.post(
            ORDERS,
            {
                "vendor": book["vendor"].pk,
                "date": DAY.isoformat(),
                "tax_code": book["tax"].pk,
                "freight_amount": freight,
                "lines": [
                    {"description": "Firewall appliance", "quantity": "2", "unit_cost": "400.00"}
                ],
            },
        ),
        201,
    )
    assert order["status"] == "open" and not order["is_closed"]
    line = order["lines"][0]
    line = ok(client.post(f"{LINES}{line['id']}/receive/", {"received_date": DAY.isoformat()}))
    assert line["received"] and line["closed"]
    order = ok(client.patch(f"{ORDERS}{order['id']}/", {"status": "closed"}))
    assert order["is_closed"]
    return order, line


def test_freight_fix_up_procedure(api, finance, book, send):
    client = api(finance)
    order, line = create_purchase_order(client, book)
    url = f"{ORDERS}{order['id']}/"
    batch = send([{"type": "freight", "id": order["id"]}, {"type": "product", "id": line["id"]}])
    order = ok(client.get(url))
    assert order["freight_gl_batch"] == batch["batch_identifier"]
    assert order["lines"][0]["gl_batch"] == batch["batch_identifier"]
    refused(client.patch(url, {"status": "open"}), "record_locked")

    # 2. Unbatch the freight; 3. reopen; 4. edit the freight; 5. close.
    order = ok(client.post(f"{url}unbatch-freight/"))
    assert order["freight_gl_batch"] is None
    assert order["freight_original_batch"] == batch["batch_identifier"]
    assert order["lines"][0]["gl_batch"] == batch["batch_identifier"]  # individually
    refused(client.patch(url, {"freight_amount": "30.00"}), "record_not_open")
    ok(client.patch(url, {"status": "open"}))
    # The tax code needs every product line reopened and unreceived first.
    refusal = refused(client.patch(url, {"tax_code": None}), "products_not_unreceived")
    assert [item["id"] for item in refusal["items"]] == [line["id"]]
    order = ok(client.patch(url, {"freight_amount": "30.00", "status": "closed"}))
    assert order["freight_amount"] == "30.00" and order["is_closed"]

    # 6. Rebatch.
    order = ok(client.post(f"{url}rebatch-freight/"))
    assert order["freight_gl_batch"] == batch["batch_identifier"]
    assert ok(client.get(f"{BATCHES}{batch['id']}/"))["counts"] == {
        "invoice": 0,
        "expense": 0,
        "freight": 1,
        "product": 1,
    }
    assert audit_actions(client, url) == [
        "created",
        "closed",
        "batched",
        "unbatched",
        "reopened",
        "edited",
        "rebatched",
    ]


def test_product_fix_up_procedure(api, finance, book, send):
    client = api(finance)
    _, line = create_purchase_order(client, book)
    url = f"{LINES}{line['id']}/"
    batch = send([{"type": "product", "id": line["id"]}])
    refused(client.patch(url, {"quantity": "3"}), "record_locked")
    refused(client.post(f"{url}unreceive/"), "record_locked")

    # 3. Unbatch; 4. clear Closed; 5. unreceive; 6. adjust; then receive (and close).
    line = ok(client.post(f"{url}unbatch/"))
    assert line["gl_batch"] is None and line["original_batch"] == batch["batch_identifier"]
    refused(client.patch(url, {"quantity": "3"}), "record_not_open")
    refused(client.post(f"{url}unreceive/"), "invalid_transition")
    assert not ok(client.patch(url, {"closed": False}))["closed"]
    assert not ok(client.post(f"{url}unreceive/"))["received"]
    line = ok(client.patch(url, {"quantity": "3", "unit_cost": "390.00"}))
    assert (line["amount"], line["total"]) == ("1170.00", "1266.53")  # with 8.25% tax
    refused(client.post(f"{url}rebatch/"), "record_not_ready")
    line = ok(client.post(f"{url}receive/", {"received_date": "2026-11-04"}))
    assert line["received"] and line["closed"]

    # 7. Rebatch.
    line = ok(client.post(f"{url}rebatch/"))
    assert line["gl_batch"] == batch["batch_identifier"]
    assert ok(client.get(f"{BATCHES}{batch['id']}/"))["total"] == "1266.53"
    assert audit_actions(client, url) == [
        "created",
        "received",
        "batched",
        "unbatched",
        "reopened",
        "unreceived",
        "edited",
        "received",
        "rebatched",
    ]


@pytest.mark.parametrize("ending", ["rebatch", "new batch"])
def test_a_record_rebatched_or_sent_again_leaves_nothing_unposted(api, finance, book, send, ending):
    client = api(finance)
    invoice = create_closed_invoice(client, book)
    url = f"{INVOICES}{invoice['id']}/"
    send([{"type": "invoice", "id": invoice["id"]}])
    ok(client.post(f"{url}unbatch/"))
    if ending == "rebatch":
        ok(client.post(f"{url}rebatch/"))
    else:
        send(all_unposted=True, confirm_resend=True)
    assert ok(client.get(UNPOSTED))["results"] == []


def test_delete_batch_procedure_with_file_only_rerecord_and_resend_confirmation(
    api, finance, approver, staff, book, send, django_capture_on_commit_callbacks
):
    client = api(finance)
    kept, edited, unbatched = (create_closed_invoice(client, book) for _ in range(3))
    _, expense = create_approved_expense(api(staff), api(approver), book)
    batch = send(
        [
            {"type": "invoice", "id": kept["id"]},
            {"type": "invoice", "id": edited["id"]},
            {"type": "invoice", "id": unbatched["id"]},
            {"type": "expense", "id": expense["id"]},
        ],
        batch_identifier="NOV-2026",
    )
    url = f"{BATCHES}{batch['id']}/"
    assert batch["counts"] == {"invoice": 3, "expense": 1, "freight": 0, "product": 0}
    pending = create_closed_invoice(client, book, price="10.00")  # waiting, unposted

    # An item unbatched from the batch blocks the delete; the refusal names it.
    ok(client.post(f"{INVOICES}{unbatched['id']}/unbatch/"))
    assert ok(client.get(url))["unbatched"] == 1
    refusal = refused(client.delete(url), "batch_has_unbatched_items")
    assert refusal["items"] == [
        {"type": "invoice", "id": unbatched["id"], "reference": f"Invoice {unbatched['number']}"}
    ]
    assert ok(client.get(url))["status"] == "open"

    # Rebatch it, then delete: every record is unlocked; the pending one is not touched.
    ok(client.post(f"{INVOICES}{unbatched['id']}/rebatch/"))
    assert client.delete(url).status_code == 204
    assert ok(client.get(url))["status"] == "deleted"
    for record in (kept, edited, unbatched):
        assert ok(client.get(f"{INVOICES}{record['id']}/"))["gl_batch"] is None
    assert ok(client.get(f"{ENTRIES}{expense['id']}/"))["gl_batch"] is None
    pending = ok(client.get(f"{INVOICES}{pending['id']}/"))
    assert pending["gl_batch"] is None and pending["original_batch"] is None

    # Edit one record.
    edited_url = f"{INVOICES}{edited['id']}/"
    ok(client.patch(edited_url, {"status": "New"}))
    ok(
        client.patch(
            edited_url,
            {
                "lines": [{"description": "Corrected", "quantity": "1", "unit_price": "99.00"}],
                "status": "Closed",
            },
        )
    )

    # The system tells unchanged from changed.
    changes = ok(client.get(f"{url}changes/"))
    assert {(i["type"], i["id"]) for i in changes["unchanged"]} == {
        ("invoice", kept["id"]),
        ("invoice", unbatched["id"]),
        ("expense", expense["id"]),
    }
    assert [(i["type"], i["id"]) for i in changes["changed"]] == [("invoice", edited["id"])]
    assert changes["not_sent"] == []

    # Re-record the unchanged ones under the original batch ID, file only: nothing is
    # sent, so the setup's Direct Transfer flag need not be touched.
    with django_capture_on_commit_callbacks(execute=True):
        queued = ok(client.post(f"{url}rerecord/", {}), 201)
    rerecord = ok(client.get(f"{BATCHES}{queued['id']}/"))
    assert rerecord["batch_identifier"] == "NOV-2026" and rerecord["is_rerecord"]
    assert rerecord["transfer"]["method"] == "file" and rerecord["transfer"]["state"] == "done"
    assert rerecord["counts"] == {"invoice": 2, "expense": 1, "freight": 0, "product": 0}
    download = client.get(rerecord["transfer"]["file_url"])
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    for record in (kept, unbatched):
        assert ok(client.get(f"{INVOICES}{record['id']}/"))["gl_batch"] == "NOV-2026"
    assert ok(client.get(f"{INVOICES}{edited['id']}/"))["gl_batch"] is None
    # Nothing was sent again: no checklist, and the unposted tab has only the two left.
    assert ok(client.get(f"{BATCHES}{rerecord['id']}/checklist/")) == []
    unposted = ok(client.get(UNPOSTED, {"type": "invoice"}))["results"]
    assert {item["id"] for item in unposted} == {edited["id"], pending["id"]}

    # The edited one goes out with the next batch, once the user confirms its original
    # was removed from the accounting package.
    refusal = send(all_unposted=True, types=["invoice"], expect=409)
    assert refusal["code"] == "retransfer_unconfirmed"
    assert [item["id"] for item in refusal["items"]] == [edited["id"]]
    assert ok(client.get(f"{INVOICES}{pending['id']}/"))["gl_batch"] is None  # unchanged
    following = send(all_unposted=True, types=["invoice"], confirm_resend=True)
    assert following["counts"]["invoice"] == 2
    checklist = ok(client.get(f"{BATCHES}{following['id']}/checklist/"))
    assert [(c["id"], c["batch_identifier"]) for c in checklist] == [(edited["id"], "NOV-2026")]


LOCKED_EDITS = [
    ("invoice", {"status": "New"}),
    ("invoice", {"due_date": "2026-12-31"}),
    ("invoice", {"tax_code": None}),
    ("invoice", {"lines": [{"description": "x", "quantity": "1", "unit_price": "1.00"}]}),
    ("expense", {"amount": "1.00"}),
    ("expense", {"description": "Changed"}),
    ("expense", {"billable": True}),
    ("freight", {"status": "open"}),
    ("freight", {"freight_amount": "1.00"}),
    ("freight", {"tax_code": None}),
    ("product", {"closed": False}),
    ("product", {"quantity": "5"}),
    ("product", {"description": "Changed"}),
]


@pytest.mark.parametrize(("kind", "body"), LOCKED_EDITS)
def test_no_patch_changes_a_batched_record(
    api, finance, make_invoice, make_expense, make_purchase_order, kind, body
):
    order, line = make_purchase_order()
    records = {
        "invoice": (make_invoice().pk, INVOICES),
        "expense": (make_expense().pk, ENTRIES),
        "freight": (order.pk, ORDERS),
        "product": (line.pk, LINES),
    }
    record_id, collection = records[kind]
    accounting.batch_create(actor=finance, items=[{"type": kind, "id": record_id}])
    client = api(finance)
    url = f"{collection}{record_id}/"
    before = ok(client.get(url))
    refusal = refused(client.patch(url, body), "record_locked")
    assert refusal["items"][0]["type"] == kind and refusal["items"][0]["id"] == record_id
    assert ok(client.get(url)) == before
