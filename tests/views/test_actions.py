"""The reference page's procedures done through the browser views: each step a form
post, each refusal a message in the page with the way out (never an error page),
except a step the user's role does not allow: that is the 403 page saying so."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from accounting.models import BatchStatus, GLBatch, TransferLog, TransferState
from expenses.models import SheetStatus
from invoicing.models import Invoice
from tests.helpers import status

pytestmark = pytest.mark.django_db


def follow(client, url, data=None, **extra):
    response = client.post(url, data or {}, follow=True, **extra)
    assert response.status_code == 200, response.content[:500]
    return response, response.content.decode()


def message_texts(response):
    return [str(message) for message in response.context["messages"]]


def line_data(invoice, **changes):
    """The invoice form as the page posts it: status, header fields, lines formset."""
    lines = list(invoice.lines.all())
    data = {
        "status": changes.pop("status", invoice.status_id),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "tax_code": invoice.tax_code_id or "",
        "lines-TOTAL_FORMS": str(len(lines) + 1),
        "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        data.update(
            {
                f"lines-{index}-description": line.description,
                f"lines-{index}-quantity": str(line.quantity),
                f"lines-{index}-unit_price": str(line.unit_price),
                f"lines-{index}-gl_account": line.gl_account_id or "",
                f"lines-{index}-taxable": "on" if line.taxable else "",
            }
        )
    data[f"lines-{len(lines)}-taxable"] = "on"  # the blank extra row, untouched
    data.update(changes)
    return data


def test_invoice_fix_up_procedure_through_the_screens(finance_client, make_invoice, send):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    detail = reverse("invoicing:invoice_detail", args=[invoice.pk])
    unbatch = reverse("accounting:record_unbatch", args=["invoice", invoice.pk])

    # MORE > Unbatch shows an OK confirmation (a panel for htmx, a page without it).
    panel = finance_client.get(unbatch, {"next": detail}, headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "<html" not in panel.content.decode()
    assert f"Unbatch Invoice {invoice.number}?" in panel.content.decode()
    assert ">OK</button>" in panel.content.decode()
    full = finance_client.get(unbatch, {"next": detail}).content.decode()
    assert "<html" in full and ">OK</button>" in full

    _, html = follow(finance_client, unbatch, {"next": detail})
    assert f"Invoice {invoice.number} is unbatched from {batch.batch_identifier}" in html
    assert f"Unbatched from {batch.batch_identifier}" in strip_tags(html)

    # Set an open status and save; then edit and set a closed status in one save.
    invoice.refresh_from_db()
    _, html = follow(finance_client, detail, line_data(invoice, status=status("New").pk))
    assert "its status is New" in html
    invoice.refresh_from_db()
    _, html = follow(
        finance_client,
        detail,
        line_data(invoice, status=status("Closed").pk, **{"lines-0-quantity": "12"}),
    )
    invoice.refresh_from_db()
    assert invoice.status.name == "Closed" and invoice.lines.get().quantity == Decimal("12")
    assert invoice.subtotal == Decimal("1800.00")

    # MORE > Rebatch: back into the original batch, nothing sent.
    _, html = follow(
        finance_client,
        reverse("accounting:record_rebatch", args=["invoice", invoice.pk]),
        {"next": detail},
    )
    assert f"back in GL batch {batch.batch_identifier}. Nothing was sent." in html
    assert f"In batch {batch.batch_identifier} since" in strip_tags(html)
    invoice.refresh_from_db()
    assert invoice.gl_batch_id == batch.pk
    assert TransferLog.objects.filter(batch=batch).count() == 1


def test_changing_a_locked_invoice_is_refused_in_the_page(finance_client, make_invoice, send):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    detail = reverse("invoicing:invoice_detail", args=[invoice.pk])
    response = finance_client.post(detail, line_data(invoice, status=status("New").pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"is in GL batch {batch.batch_identifier} and cannot be changed" in html
    assert "Unbatch it first (MORE &gt; Unbatch)" in html
    assert 'class="message message-error message-refusal"' in html
    invoice.refresh_from_db()
    assert invoice.status.name == "Closed"


def test_delete_batch_refusal_lists_the_unbatched_items_with_links(
    finance_client, finance, make_invoice, send
):
    kept, unbatched = make_invoice(), make_invoice()
    batch = send([{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": unbatched.pk}])
    follow(finance_client, reverse("accounting:record_unbatch", args=["invoice", unbatched.pk]))
    action = reverse("accounting:batch_action")

    # Actions > Delete Batches asks for an OK first and names the batch ID to note.
    confirm = finance_client.post(action, {"action": "delete", "batches": [batch.pk]})
    assert confirm.status_code == 200
    assert f"Note the batch ID: {batch.batch_identifier}" in confirm.content.decode()
    # It says up front that the delete will be refused, and why.
    assert f"GL batch {batch.batch_identifier} cannot be deleted yet" in confirm.content.decode()

    _, html = follow(
        finance_client, action, {"action": "delete", "batches": [batch.pk], "confirmed": "on"}
    )
    assert f"GL batch {batch.batch_identifier} cannot be deleted" in html
    assert "Rebatch it first (MORE &gt; Rebatch)" in html
    link = reverse("invoicing:invoice_detail", args=[unbatched.pk])
    assert f'<a href="{link}">Invoice {unbatched.number}</a>' in html
    assert GLBatch.objects.get(pk=batch.pk).status == BatchStatus.OPEN

    follow(finance_client, reverse("accounting:record_rebatch", args=["invoice", unbatched.pk]))
    _, html = follow(
        finance_client, action, {"action": "delete", "batches": [batch.pk], "confirmed": "on"}
    )
    page = reverse("accounting:batch_detail", args=[batch.pk])
    assert f'Deleted <a href="{page}">{batch.batch_identifier}</a>' in html
    assert GLBatch.objects.get(pk=batch.pk).status == BatchStatus.DELETED


def test_actions_without_a_choice_are_refused_in_the_page(finance_client, make_invoice, send):
    batch = send([{"type": "invoice", "id": make_invoice().pk}])
    _, html = follow(finance_client, reverse("accounting:batch_action"), {"action": "delete"})
    assert "Tick the batch or batches first." in html
    _, html = follow(finance_client, reverse("accounting:batch_action"), {"batches": [batch.pk]})
    assert "Choose an action" in html


def test_transfer_of_ticked_records_creates_the_batch_and_offers_the_file(
    finance_client, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    invoice, other = make_invoice(), make_invoice()
    url = reverse("accounting:unposted", args=["invoice"])
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(
            url,
            {
                "selection": "selected",
                "items": [f"invoice:{invoice.pk}"],
                "batch_identifier": "NOV-CLOSE",
                "transfer": "file",
            },
        )
    batch = GLBatch.objects.get(batch_identifier="NOV-CLOSE")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounting:batch_detail", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.transfer_state == TransferState.DONE
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert invoice.gl_batch_id == batch.pk and other.gl_batch_id is None

    html = finance_client.get(response["Location"]).content.decode()
    assert "Download the export file" in html and 'hx-trigger="every 1s"' not in html
    download = finance_client.get(reverse("accounting:batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    body = b"".join(download.streaming_content).decode()
    assert "NOV-CLOSE" in body and invoice.number in body


def test_transfer_of_all_matching_records_and_a_generated_batch_id(
    finance_client, make_invoice, make_expense, django_capture_on_commit_callbacks
):
    invoices = [make_invoice() for _ in range(3)]
    expense = make_expense()
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(
            reverse("accounting:unposted", args=["invoice"]),
            {"selection": "matching", "transfer": "file"},
        )
    batch = GLBatch.objects.get()
    assert batch.batch_identifier.startswith("GL-")
    batched = Invoice.objects.filter(gl_batch=batch).values_list("pk", flat=True)
    assert set(batched) == {invoice.pk for invoice in invoices}
    expense.refresh_from_db()
    assert expense.gl_batch_id is None


def test_transfer_with_nothing_ticked_or_a_used_id_is_refused_in_the_page(
    finance_client, make_invoice, send
):
    invoice = make_invoice()
    used = send([{"type": "invoice", "id": make_invoice().pk}], batch_identifier="USED")
    url = reverse("accounting:unposted", args=["invoice"])
    response = finance_client.post(url, {"selection": "selected", "transfer": "file"})
    assert response.status_code == 200
    assert "Tick at least one record" in response.content.decode()
    response = finance_client.post(
        url,
        {
            "selection": "selected",
            "items": [f"invoice:{invoice.pk}"],
            "batch_identifier": used.batch_identifier,
            "transfer": "file",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Batch ID USED is already used" in html
    assert f'value="invoice:{invoice.pk}"' in html and "checked" in html


def test_resending_needs_the_checklist_confirmed_and_the_batch_keeps_it(
    finance_client, finance, make_invoice, send, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    first = send([{"type": "invoice", "id": invoice.pk}])
    follow(
        finance_client,
        reverse("accounting:batch_delete", args=[first.pk]),
    )
    url = reverse("accounting:unposted", args=["invoice"])
    data = {"selection": "selected", "items": [f"invoice:{invoice.pk}"], "transfer": "file"}
    response = finance_client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"was already sent in GL batch {first.batch_identifier}" in html
    assert 'id="resend-checklist"' in html and 'name="confirm_resend"' in html
    assert GLBatch.objects.exclude(status=BatchStatus.DELETED).count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(url, {**data, "confirm_resend": "on"})
    assert response.status_code == 302
    batch = GLBatch.objects.exclude(status=BatchStatus.DELETED).get()
    assert response["Location"] == reverse("accounting:batch_detail", args=[batch.pk])
    html = finance_client.get(response["Location"]).content.decode()
    assert "Originals replaced by this batch" in html and "Removal confirmed" in html

    download = finance_client.get(reverse("accounting:batch_checklist", args=[batch.pk]))
    assert download["Content-Disposition"].startswith("attachment;")
    header, row = download.content.decode().splitlines()
    assert header.startswith("record,type,id,original_batch")
    assert row.startswith(
        f"Invoice {invoice.number},invoice,{invoice.pk},{first.batch_identifier},"
    )
    assert row.endswith(",confirmed")


def test_deleted_batch_page_splits_changed_from_unchanged_and_rerecords_in_one_click(
    finance_client, finance, make_invoice, send, django_capture_on_commit_callbacks
):
    kept, edited = make_invoice(), make_invoice()
    batch = send([{"type": "invoice", "id": kept.pk}, {"type": "invoice", "id": edited.pk}])
    follow(finance_client, reverse("accounting:batch_delete", args=[batch.pk]))
    detail = reverse("invoicing:invoice_detail", args=[edited.pk])
    edited.refresh_from_db()
    follow(finance_client, detail, line_data(edited, status=status("New").pk))
    edited.refresh_from_db()
    follow(
        finance_client,
        detail,
        line_data(edited, status=status("Closed").pk, **{"lines-0-unit_price": "99.00"}),
    )

    page = reverse("accounting:batch_detail", args=[batch.pk])
    html = finance_client.get(page).content.decode()
    unchanged = html.split('id="split-unchanged"')[1].split("</ul>")[0]
    changed = html.split('id="split-changed"')[1].split("</ul>")[0]
    assert kept.number in unchanged and edited.number not in unchanged
    assert edited.number in changed
    assert f"Re-record 1 unchanged under {batch.batch_identifier}" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(reverse("accounting:batch_rerecord", args=[batch.pk]))
    rerecord = GLBatch.objects.get(is_rerecord=True)
    assert response["Location"] == reverse("accounting:batch_detail", args=[rerecord.pk])
    assert rerecord.batch_identifier == batch.batch_identifier
    assert rerecord.transfer_method == "file"
    kept.refresh_from_db()
    assert kept.gl_batch_id == rerecord.pk
    html = finance_client.get(response["Location"]).content.decode()
    assert "do not import this file" in html
    assert "is in use again by" in finance_client.get(page).content.decode()


def test_progress_partial_polls_while_the_transfer_is_queued(finance_client, finance, make_invoice):
    from accounting import services

    batch = services.batch_create(
        actor=finance, items=[{"type": "invoice", "id": make_invoice().pk}], transfer="file"
    )  # on_commit callbacks are not run: the transfer stays queued
    url = reverse("accounting:batch_progress", args=[batch.pk])
    html = finance_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Queued" in html
    assert "<html" not in html
    services.batch_transfer_run(batch_id=batch.pk)
    html = finance_client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' not in html and "Download the export file" in html


def test_close_from_the_batch_page_after_an_ok(finance_client, make_invoice, send):
    batch = send([{"type": "invoice", "id": make_invoice().pk}])
    url = reverse("accounting:batch_close", args=[batch.pk])
    panel = finance_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f"Close GL batch {batch.batch_identifier}?" in panel and "only an administrator" in (
        panel.lower()
    )
    _, html = follow(finance_client, url)
    assert f"Closed GL batch {batch.batch_identifier}." in html
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CLOSED


def test_expense_fix_up_through_the_screens(client, finance, staff, approver, make_expense, send):
    entry = make_expense()
    batch = send([{"type": "expense", "id": entry.pk}])
    client.force_login(finance)
    entry_url = reverse("expenses:entry_detail", args=[entry.pk])
    follow(client, reverse("accounting:record_unbatch", args=["expense", entry.pk]))
    client.force_login(approver)
    _, html = follow(client, reverse("expenses:sheet_reverse", args=[entry.sheet_id]))
    assert f"Expense sheet {entry.sheet_id} reversed" in html
    client.force_login(staff)
    _, html = follow(
        client,
        entry_url,
        {
            "date": entry.date.isoformat(),
            "expense_type": entry.expense_type_id,
            "amount": "47.25",
            "description": "Taxi to client site (corrected)",
        },
    )
    assert f"Expense {entry.pk} saved." in html
    follow(client, reverse("expenses:sheet_submit", args=[entry.sheet_id]))
    client.force_login(approver)
    follow(client, reverse("expenses:sheet_approve", args=[entry.sheet_id]))
    client.force_login(finance)
    _, html = follow(client, reverse("accounting:record_rebatch", args=["expense", entry.pk]))
    entry.refresh_from_db()
    assert entry.gl_batch_id == batch.pk and entry.amount == Decimal("47.25")
    assert entry.sheet.status == SheetStatus.APPROVED


def test_approving_your_own_sheet_is_refused_in_the_page(client, staff, make_expense):
    entry = make_expense(approved=False)
    client.force_login(staff)
    follow(client, reverse("expenses:sheet_submit", args=[entry.sheet_id]))
    response = client.post(reverse("expenses:sheet_approve", args=[entry.sheet_id]))
    assert response.status_code == 403
    assert "You cannot approve expense sheets" in response.content.decode()


def test_an_approver_sees_another_members_expense_but_cannot_change_it(
    client, approver, make_expense
):
    entry = make_expense(approved=False)  # Staff's, on an open sheet
    entry_url = reverse("expenses:entry_detail", args=[entry.pk])
    client.force_login(approver)
    page = client.get(entry_url).content.decode()
    assert "only they or Finance can change it" in page
    assert 'id="save-entry"' not in page
    _, html = follow(
        client,
        entry_url,
        {
            "date": entry.date.isoformat(),
            "expense_type": entry.expense_type_id,
            "amount": "1.00",
            "description": entry.description,
        },
    )
    assert f"Expense sheet {entry.sheet_id} belongs to another member" in html
    _, html = follow(client, reverse("expenses:sheet_submit", args=[entry.sheet_id]))
    assert f"Expense sheet {entry.sheet_id} belongs to another member" in html
    entry.refresh_from_db()
    assert entry.amount == Decimal("42.50") and entry.sheet.status == SheetStatus.OPEN
    sheet_page = client.get(reverse("expenses:sheet_detail", args=[entry.sheet_id]))
    # The disabled Submit says what the service said.
    assert (
        f"Expense sheet {entry.sheet_id} belongs to another member; only they or Finance can "
        "change it." in sheet_page.content.decode()
    )


def test_freight_and_product_fix_up_through_the_screens(finance_client, make_purchase_order, send):
    po, line = make_purchase_order()
    freight = send([{"type": "freight", "id": po.pk}])
    product = send([{"type": "product", "id": line.pk}])
    po_url = reverse("procurement:po_detail", args=[po.pk])
    follow(finance_client, reverse("accounting:record_unbatch", args=["freight", po.pk]))
    _, html = follow(
        finance_client,
        po_url,
        {"status": "open", "freight_amount": "25.00", "tax_code": po.tax_code_id},
    )
    assert f"Purchase order {po.number} saved." in html
    follow(
        finance_client,
        po_url,
        {"status": "closed", "freight_amount": "31.00", "tax_code": po.tax_code_id},
    )
    follow(finance_client, reverse("accounting:record_rebatch", args=["freight", po.pk]))
    po.refresh_from_db()
    assert po.freight_amount == Decimal("31.00") and po.freight_gl_batch_id == freight.pk

    line_url = reverse("procurement:line_detail", args=[line.pk])
    follow(finance_client, reverse("accounting:record_unbatch", args=["product", line.pk]))
    _, html = follow(finance_client, reverse("procurement:line_closed", args=[line.pk]))
    assert "Closed box cleared" in html
    _, html = follow(finance_client, reverse("procurement:line_unreceive", args=[line.pk]))
    assert "unreceived" in html
    follow(
        finance_client,
        line_url,
        {"description": "Firewall appliance", "quantity": "3", "unit_cost": "400.00"},
    )
    _, html = follow(
        finance_client,
        reverse("procurement:line_receive", args=[line.pk]),
        {"received_date": "2026-11-04"},
    )
    assert "received; its Closed box is ticked" in html
    follow(finance_client, reverse("accounting:record_rebatch", args=["product", line.pk]))
    line.refresh_from_db()
    assert line.quantity == Decimal("3") and line.gl_batch_id == product.pk


def test_unreceiving_a_closed_product_is_refused_with_the_way_out(
    finance_client, make_purchase_order
):
    _po, line = make_purchase_order(closed=False)
    _, html = follow(finance_client, reverse("procurement:line_unreceive", args=[line.pk]))
    assert "Clear the Closed box first" in html


def test_staff_cannot_unbatch_and_is_told_so(client, staff, finance, make_expense, send):
    entry = make_expense()
    send([{"type": "expense", "id": entry.pk}])
    client.force_login(staff)
    response = client.post(reverse("accounting:record_unbatch", args=["expense", entry.pk]))
    assert response.status_code == 403
    assert "You cannot unbatch or rebatch records" in response.content.decode()
    entry.refresh_from_db()
    assert entry.gl_batch_id is not None


def test_next_never_leaves_the_site(finance_client, make_invoice, send):
    invoice = make_invoice()
    send([{"type": "invoice", "id": invoice.pk}])
    response = finance_client.post(
        reverse("accounting:record_unbatch", args=["invoice", invoice.pk]),
        {"next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("invoicing:invoice_detail", args=[invoice.pk])
