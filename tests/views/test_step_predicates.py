"""What the pages and the API offer is exactly what the services accept.

Every state of a batch, and of a record of each kind, is built through the services
(a transfer's running, interrupted or failed state is set on the row, as a worker
would leave it). For each step, the service is run in a savepoint that is rolled
back: the page, fetched as the user, offers the step if and only if the service
accepted it, and where the page shows a refused step, it shows the service's own
sentence; the API's listing (GET .../actions/) says the same."""

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounting import services as accounting
from accounting.models import GLBatch, TransferState
from core import web
from core.errors import ApplicationError
from expenses import services as expense_services
from invoicing import services as invoice_services
from procurement import services as po_services
from tests.helpers import make_user, status

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def answer(run) -> ApplicationError | None:
    """The service's refusal, or None when it accepts; what it did is rolled back."""
    try:
        with transaction.atomic():
            run()
            raise _Rollback
    except _Rollback:
        return None
    except ApplicationError as error:
        return error


def page_offers(page: str, key: str) -> tuple[bool, str | None]:
    """On a batch page: whether step `key` is offered, and the sentence shown when it
    is refused (None when it is not shown at all)."""
    if re.search(rf'<a [^>]*id="action-{key}"', page):
        return True, None
    reason = re.search(rf'<small class="muted" id="why-{key}">(.*?)</small>', page, re.S)
    return False, html.unescape(reason.group(1)) if reason else None


def set_transfer(batch: GLBatch, state: str) -> None:
    """Leave the batch's transfer as a worker would: running (lease held), interrupted
    (running, lease expired) or failed."""
    now = timezone.now()
    fields = {
        "running": {
            "transfer_state": TransferState.RUNNING,
            "transfer_lease_holder": "worker-1:77:alive",
            "transfer_lease_until": now + timedelta(minutes=2),
        },
        "interrupted": {
            "transfer_state": TransferState.RUNNING,
            "transfer_lease_holder": "worker-1:77:gone",
            "transfer_lease_until": now - timedelta(minutes=2),
        },
        "failed": {
            "transfer_state": TransferState.FAILED,
            "transfer_error": "The accounting package refused the file.",
        },
    }[state]
    GLBatch.objects.filter(pk=batch.pk).update(**fields)


# --- batches -----------------------------------------------------------------------------


def _batch_states(finance, make_invoice, send, unbatch):
    """Each state a batch can be in, by name."""

    def invoices(count=1):
        return [{"type": "invoice", "id": make_invoice().pk} for _ in range(count)]

    states = {"open, transferred": send(invoices())}
    states["open, transfer queued"] = accounting.batch_create(
        actor=finance, items=invoices(), transfer="file"
    )  # its on_commit hand-over is not run: it stays queued
    for state in ("running", "interrupted", "failed"):
        batch = send(invoices())
        set_transfer(batch, state)
        states[f"open, transfer {state}"] = batch
    items = invoices(2)
    states["open, a record unbatched"] = send(items)
    unbatch(items[1])
    closed = send(invoices())
    states["closed"] = accounting.batch_close(actor=finance, batch_id=closed.pk)
    reopened = send(invoices())
    accounting.batch_close(actor=finance, batch_id=reopened.pk)
    admin = User.objects.get(username="root")
    states["reopened"] = accounting.batch_reopen(actor=admin, batch_id=reopened.pk)
    deleted = send(invoices())
    states["deleted"] = accounting.batch_delete(actor=finance, batch_id=deleted.pk)
    rerecorded = send(invoices())
    accounting.batch_delete(actor=finance, batch_id=rerecorded.pk)
    accounting.batch_rerecord(actor=finance, batch_id=rerecorded.pk)
    states["deleted, re-recorded"] = rerecorded
    failed = send(invoices())
    set_transfer(failed, "failed")
    states["deleted, its transfer failed"] = accounting.batch_delete(
        actor=finance, batch_id=failed.pk
    )
    return states


BATCH_SERVICES = {
    "close": accounting.batch_close,
    "delete": accounting.batch_delete,
    "reopen": accounting.batch_reopen,
    "retry": accounting.batch_retry,
    "rerecord": accounting.batch_rerecord,
}


def test_a_batch_page_offers_exactly_the_steps_its_services_accept(
    client, finance, make_invoice, send
):
    make_user("root", is_superuser=True, is_staff=True)

    def unbatch(item):
        accounting.record_unbatch(actor=finance, record_type=item["type"], record_id=item["id"])

    states = _batch_states(finance, make_invoice, send, unbatch)
    accepted = {}
    for user in (finance, User.objects.get(username="root")):
        client.force_login(user)
        for name, batch in states.items():
            page = client.get(reverse("accounting:batch_detail", args=[batch.pk]))
            assert page.status_code == 200
            listing = client.get(reverse("api:batch-steps", args=[batch.pk])).json()
            for step, service in BATCH_SERVICES.items():
                where = (user.username, name, step)
                refusal = answer(lambda s=service, b=batch, u=user: s(actor=u, batch_id=b.pk))
                offered, shown = page_offers(page.content.decode(), step)
                assert offered == (refusal is None), (where, refusal)
                if shown is not None:
                    assert shown == refusal.message, where
                assert listing[step]["allowed"] == (refusal is None), where
                if refusal is not None:
                    assert listing[step]["message"] == refusal.message, where
                    assert listing[step]["code"] == refusal.code, where
                accepted[where] = refusal is None
    # The walk reached both answers of every step.
    for step in BATCH_SERVICES:
        answers = {ok for (_, _, key), ok in accepted.items() if key == step}
        assert answers == {True, False}, step
    # The case the pages used to get wrong: Close is not offered while the transfer is
    # unfinished, and the page says why in the service's words.
    client.force_login(finance)
    for name in ("open, transfer queued", "open, transfer running", "open, transfer failed"):
        page = client.get(reverse("accounting:batch_detail", args=[states[name].pk]))
        offered, shown = page_offers(page.content.decode(), "close")
        assert not offered and "has not been transferred" in shown, name


# --- records of each kind ------------------------------------------------------------------


def _make_record(kind, make_invoice, make_expense, make_purchase_order, ready=True):
    if kind == "invoice":
        return make_invoice(closed=ready)
    if kind == "expense":
        return make_expense(approved=ready)
    order, line = make_purchase_order(received=ready, closed=ready)
    return order if kind == "freight" else line


def _make_not_ready(kind, record, finance, approver):
    """Undo what made an unbatched record ready, through its app's own step."""
    if kind == "invoice":
        invoice_services.invoice_update(actor=finance, invoice=record, status=status("New"))
    elif kind == "expense":
        expense_services.expense_sheet_reverse(actor=approver, sheet=record.sheet)
    elif kind == "freight":
        po_services.purchase_order_update(actor=finance, purchase_order=record, status="open")
    else:
        po_services.purchase_order_line_update(actor=finance, line=record, closed=False)


RECORD_API = {
    "invoice": "api:invoice-steps",
    "expense": "api:expense-entry-steps",
    "freight": "api:purchase-order-steps",
    "product": "api:purchase-order-line-steps",
}
LABELS = {"unbatch": "Unbatch", "rebatch": "Rebatch"}


def menu_offers(page: str, step: str) -> tuple[bool, str | None]:
    """In a record page's MORE menu: whether the step is a link, and its reason if not."""
    label = LABELS[step]
    if re.search(rf'hx-swap="innerHTML">{label}</a>', page):
        return True, None
    reason = re.search(
        rf'aria-disabled="true">{label}</span>\s*<small class="more-reason">(.*?)</small>',
        page,
        re.S,
    )
    assert reason, step
    return False, html.unescape(reason.group(1))


@pytest.mark.parametrize("kind", ["invoice", "expense", "freight", "product"])
def test_a_record_page_offers_exactly_the_batch_steps_the_services_accept(
    kind, finance_client, finance, approver, make_invoice, make_expense, make_purchase_order, send
):
    def record(ready=True):
        return _make_record(kind, make_invoice, make_expense, make_purchase_order, ready)

    def sent(ready=True):
        made = record(ready)
        return made, send([{"type": kind, "id": made.pk}])

    def unbatch(made):
        accounting.record_unbatch(actor=finance, record_type=kind, record_id=made.pk)

    states = {"unposted": record(), "unposted, not ready": record(ready=False)}
    states["in an open batch"], _ = sent()
    made, batch = sent()
    set_transfer(batch, "running")
    states["in a batch being transferred"] = made
    made, batch = sent()
    set_transfer(batch, "interrupted")
    states["in a batch whose transfer was interrupted"] = made
    made, batch = sent()
    accounting.batch_close(actor=finance, batch_id=batch.pk)
    states["in a closed batch"] = made
    made, _ = sent()
    unbatch(made)
    states["unbatched, ready"] = made
    made, _ = sent()
    unbatch(made)
    _make_not_ready(kind, type(made).objects.get(pk=made.pk), finance, approver)
    states["unbatched, not ready"] = made
    made, batch = sent()
    unbatch(made)
    set_transfer(batch, "running")
    states["unbatched, its batch being transferred"] = made

    accepted = set()
    for name, made in states.items():
        page = finance_client.get(web.record_url(kind, made.pk))
        assert page.status_code == 200, name
        listing = finance_client.get(reverse(RECORD_API[kind], args=[made.pk])).json()
        for step, service in (
            ("unbatch", accounting.record_unbatch),
            ("rebatch", accounting.record_rebatch),
        ):
            refusal = answer(
                lambda s=service, m=made: s(actor=finance, record_type=kind, record_id=m.pk)
            )
            offered, shown = menu_offers(page.content.decode(), step)
            assert offered == (refusal is None), (name, step, refusal)
            if refusal is not None:
                assert shown == refusal.message, (name, step)
                assert listing[step] == {
                    "allowed": False,
                    "code": refusal.code,
                    "message": refusal.message,
                }, (name, step)
            else:
                assert listing[step]["allowed"], (name, step)
            accepted.add((step, refusal is None))
    assert accepted == {(s, ok) for s in LABELS for ok in (True, False)}


# --- the record apps' own steps ------------------------------------------------------------


def button_offers(page: str, button_id: str) -> tuple[bool, str | None]:
    """A step's form button: offered when present and enabled; the sentence next to it
    when disabled (None when the button is not shown)."""
    button = re.search(rf'<button [^>]*id="{button_id}"[^>]*>', page)
    if button is None:
        return False, None
    if " disabled" not in button.group(0):
        return True, None
    why = re.search(r'aria-describedby="([^"]+)"', button.group(0))
    reason = why and re.search(rf'id="{why.group(1)}">(.*?)</small>', page, re.S)
    return False, html.unescape(reason.group(1)) if reason else None


SHEET_STEPS = {
    "submit": (expense_services.expense_sheet_submit, "expenses.change_expensesheet"),
    "approve": (expense_services.expense_sheet_approve, "expenses.approve_expensesheet"),
    "reverse": (expense_services.expense_sheet_reverse, "expenses.approve_expensesheet"),
}


def test_an_expense_sheet_page_offers_exactly_the_steps_its_services_accept(
    client, staff, approver, finance, make_sheet
):
    states = {"open": make_sheet(), "open, no entries": make_sheet(entries=0)}
    submitted = make_sheet()
    states["submitted"] = expense_services.expense_sheet_submit(actor=staff, sheet=submitted)
    approved = make_sheet()
    expense_services.expense_sheet_submit(actor=staff, sheet=approved)
    states["approved"] = expense_services.expense_sheet_approve(actor=approver, sheet=approved)
    own = make_sheet(member=approver)
    states["the approver's own, submitted"] = expense_services.expense_sheet_submit(
        actor=approver, sheet=own
    )

    accepted = set()
    for user in (staff, approver, finance):
        client.force_login(user)
        for name, sheet in states.items():
            response = client.get(reverse("expenses:sheet_detail", args=[sheet.pk]))
            if response.status_code == 404:  # not among the user's own sheets
                continue
            page = response.content.decode()
            for step, (service, permission) in SHEET_STEPS.items():
                where = (user.username, name, step)
                refusal = answer(lambda s=service, o=sheet, u=user: s(actor=u, sheet=o))
                offered, shown = button_offers(page, f"sheet-{step}")
                assert offered == (refusal is None and user.has_perm(permission)), where
                if refusal is not None and shown is not None:
                    assert shown == refusal.message, where
                accepted.add((step, offered))
    assert accepted == {(s, ok) for s in SHEET_STEPS for ok in (True, False)}


def test_a_product_line_page_offers_exactly_the_receiving_steps_its_services_accept(
    finance_client, finance, make_purchase_order, send
):
    _, received_closed = make_purchase_order(closed=False)
    _, not_received = make_purchase_order(received=False, closed=False)
    _, received_open = make_purchase_order(closed=False)
    received_open = po_services.purchase_order_line_update(
        actor=finance, line=received_open, closed=False
    )
    _, batched = make_purchase_order()
    send([{"type": "product", "id": batched.pk}])
    states = {
        "received and closed": received_closed,
        "not received": not_received,
        "received, Closed clear": received_open,
        "in a GL batch": batched,
    }
    accepted = set()
    for name, line in states.items():
        page = finance_client.get(reverse("procurement:line_detail", args=[line.pk]))
        for step, run in (
            (
                "receive",
                lambda o=line: po_services.purchase_order_line_receive(actor=finance, line=o),
            ),
            (
                "unreceive",
                lambda o=line: po_services.purchase_order_line_unreceive(actor=finance, line=o),
            ),
        ):
            refusal = answer(run)
            offered, shown = button_offers(page.content.decode(), step)
            assert offered == (refusal is None), (name, step, refusal)
            if refusal is not None and shown is not None:
                assert shown == refusal.message, (name, step)
            accepted.add((step, offered))
    assert accepted == {(s, ok) for s in ("receive", "unreceive") for ok in (True, False)}


def status_offers(page: str) -> tuple[bool, str | None]:
    """A record form's status field: offered when enabled; its help text when not."""
    select = re.search(r'<select [^>]*name="status"[^>]*>', page)
    assert select, "no status field"
    if " disabled" not in select.group(0):
        return True, None
    help_text = re.search(r'id="id_status_helptext">(.*?)</small>', page, re.S)
    return False, html.unescape(help_text.group(1)) if help_text else None


def test_the_status_fields_are_offered_exactly_when_the_services_accept_a_change(
    finance_client, finance, make_invoice, make_purchase_order, send
):
    invoices = {"closed status": make_invoice(), "open status": make_invoice(closed=False)}
    batched = make_invoice()
    send([{"type": "invoice", "id": batched.pk}])
    invoices["in a GL batch"] = batched
    unbatched = make_invoice()
    send([{"type": "invoice", "id": unbatched.pk}])
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=unbatched.pk)
    invoices["unbatched"] = unbatched
    accepted = set()
    for name, invoice in invoices.items():
        invoice.refresh_from_db()
        other = status("New") if invoice.status.is_closed else status("Closed")
        refusal = answer(
            lambda i=invoice, o=other: invoice_services.invoice_set_status(
                actor=finance, invoice=i, status=o
            )
        )
        page = finance_client.get(reverse("invoicing:invoice_detail", args=[invoice.pk]))
        offered, shown = status_offers(page.content.decode())
        assert offered == (refusal is None), (name, refusal)
        if refusal is not None:
            assert shown == refusal.message, name
        accepted.add(offered)

    orders = {"closed": make_purchase_order()[0]}
    order, _ = make_purchase_order()
    send([{"type": "freight", "id": order.pk}])
    orders["closed, its freight in a GL batch"] = order
    for name, order in orders.items():
        refusal = answer(
            lambda o=order: po_services.purchase_order_update(
                actor=finance, purchase_order=o, status="open"
            )
        )
        page = finance_client.get(reverse("procurement:po_detail", args=[order.pk]))
        offered, shown = status_offers(page.content.decode())
        assert offered == (refusal is None), (name, refusal)
        if refusal is not None:
            assert shown == refusal.message, name
        accepted.add(offered)
    assert accepted == {True, False}


def test_close_is_offered_on_the_batch_page_once_its_transfer_is_done(
    finance_client, finance, make_invoice
):
    batch = accounting.batch_create(
        actor=finance, items=[{"type": "invoice", "id": make_invoice().pk}], transfer="file"
    )  # queued: its on_commit hand-over is not run
    page = finance_client.get(reverse("accounting:batch_detail", args=[batch.pk])).content
    assert page_offers(page.decode(), "close")[0] is False
    progress = reverse("accounting:batch_progress", args=[batch.pk])
    assert 'id="batch-actions"' not in finance_client.get(progress).content.decode()
    accounting.batch_transfer_run(batch_id=batch.pk)
    # The last poll brings the page's buttons along, swapped in out of band.
    last = finance_client.get(progress).content.decode()
    assert 'id="batch-actions" role="group" aria-label="Batch actions" hx-swap-oob="true"' in last
    assert page_offers(last, "close") == (True, None)
