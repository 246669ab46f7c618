"""Every write to purchase orders and their product lines: one function per action,
each in one transaction.

A purchase order holds two kinds of postable record: its freight (the PO row itself,
record type "freight") and each product line (record type "product"). They are
batched and unbatched individually, so each rule below names which one it guards.

Locks: the purchase order first, then its lines in primary key order. Services that
touch one line lock only that line.
"""

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounting.door import (
    GLAccount,
    TaxCode,
    audit_record,
    ensure_unlocked,
    field_changes,
    lock_rows,
    record_item,
    refuse,
    save_audited,
    to_cents,
)
from core.counters import counter_next
from core.errors import ApplicationError, InvalidInput
from core.inputs import (
    UNSET,
    check_date,
    check_instance,
    fits_money,
    raise_if_errors,
)
from core.models import Company
from procurement import selectors
from procurement.inputs import (
    LineInput,
    check_totals_fit,
    fits_with_tax,
    parse_added_line,
    parse_freight_amount,
    parse_line_changes,
    parse_lines,
    parse_order_changes,
)
from procurement.models import POStatus, PurchaseOrder, PurchaseOrderLine
from procurement.postables import purchase_tax
from procurement.steps import (
    FREIGHT_TYPE,
    PRODUCT_TYPE,
    receive_refusal,
    reopen_refusal,
    unreceive_refusal,
)

# References, refusals, audit -------------------------------------------------------------


def _po_reference(purchase_order: PurchaseOrder) -> str:
    return f"Purchase order {purchase_order.number}"


def _freight_item(purchase_order: PurchaseOrder) -> dict[str, Any]:
    return record_item(FREIGHT_TYPE, purchase_order)


def _product_item(line: PurchaseOrderLine) -> dict[str, Any]:
    return record_item(PRODUCT_TYPE, line)


def _product_reference(line: PurchaseOrderLine) -> str:
    return _product_item(line)["reference"]


def _refuse_unless_po_open(purchase_order: PurchaseOrder, doing: str) -> None:
    if purchase_order.is_open():
        return
    raise ApplicationError(
        f"{_po_reference(purchase_order)} is closed, so {doing}. Reopen it first (set it to "
        "open and save), make the change, then close it again.",
        code="record_not_open",
        extra={"items": [_freight_item(purchase_order)]},
    )


def _freight_state(purchase_order: PurchaseOrder) -> dict[str, Any]:
    return {
        "status": purchase_order.status,
        "freight_amount": f"{purchase_order.freight_amount:.2f}",
        "freight_gl_account": (
            purchase_order.freight_gl_account.number if purchase_order.freight_gl_account else None
        ),
        "tax_code": purchase_order.tax_code.code if purchase_order.tax_code else None,
    }


def _created_state(purchase_order: PurchaseOrder) -> dict[str, Any]:
    return {
        "number": purchase_order.number,
        "vendor": purchase_order.vendor.identifier,
        "date": purchase_order.date,
        **_freight_state(purchase_order),
    }


def _line_state(line: PurchaseOrderLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": f"{line.quantity:.2f}",
        "unit_cost": f"{line.unit_cost:.2f}",
        "amount": f"{line.amount:.2f}",
        "gl_account": line.gl_account.number if line.gl_account else None,
        "received": line.received,
        "received_date": line.received_date,
        "closed": line.closed,
    }


def _insert_lines(
    purchase_order: PurchaseOrder, lines: Sequence[LineInput], *, first_position: int
) -> list[PurchaseOrderLine]:
    return PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=purchase_order,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_cost=line.unit_cost,
            amount=line.amount,
            total=line.amount + purchase_tax(line.amount, purchase_order.tax_code),
            gl_account=line.gl_account,
        )
        for position, line in enumerate(lines, start=first_position)
    )


def _audit_lines_created(actor: AbstractBaseUser | None, lines: Sequence[PurchaseOrderLine]):
    for line in lines:
        audit_record(
            actor=actor,
            action="created",
            record_type=PRODUCT_TYPE,
            record_id=line.pk,
            changes=field_changes({}, _line_state(line)),
        )


def _lock_po(purchase_order_id: int) -> PurchaseOrder:
    return (
        PurchaseOrder.objects.select_for_update(of=("self",))
        .select_related("vendor", "tax_code", "freight_gl_account")
        .get(pk=purchase_order_id)
    )


def _lock_line(line_id: int) -> PurchaseOrderLine:
    return (
        PurchaseOrderLine.objects.select_for_update(of=("self",))
        .select_related("purchase_order", "gl_account")
        .get(pk=line_id)
    )


# Purchase orders ----------------------------------------------------------------------


@transaction.atomic
def purchase_order_create(
    *,
    actor: AbstractBaseUser | None,
    vendor: Company,
    date: datetime.date,
    tax_code: TaxCode | None = None,
    freight_amount: Decimal | str | int = Decimal("0"),
    freight_gl_account: GLAccount | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
) -> PurchaseOrder:
    """A new open purchase order, numbered PO-<n>, with its product lines."""
    errors: dict[str, list[str]] = {}
    check_instance(vendor, Company, field="vendor", errors=errors, required=True)
    check_date(date, field="date", errors=errors)
    check_instance(tax_code, TaxCode, field="tax_code", errors=errors, required=False)
    parsed_freight = parse_freight_amount(freight_amount, errors)
    check_instance(
        freight_gl_account, GLAccount, field="freight_gl_account", errors=errors, required=False
    )
    parsed_lines = parse_lines(lines, errors)
    check_totals_fit(parsed_lines, tax_code, prefix="lines", errors=errors)
    raise_if_errors(errors, "purchase order")

    purchase_order = PurchaseOrder.objects.create(
        number=f"PO-{counter_next(name='purchase_order')}",
        vendor=vendor,
        date=date,
        status=POStatus.OPEN,
        tax_code=tax_code,
        freight_amount=parsed_freight,
        freight_gl_account=freight_gl_account,
        created_by=actor,
    )
    created_lines = _insert_lines(purchase_order, parsed_lines, first_position=1)
    audit_record(
        actor=actor,
        action="created",
        record_type=FREIGHT_TYPE,
        record_id=purchase_order.pk,
        changes=field_changes({}, _created_state(purchase_order)),
    )
    _audit_lines_created(actor, created_lines)
    return purchase_order


@transaction.atomic
def purchase_order_update(
    *,
    actor: AbstractBaseUser | None,
    purchase_order: PurchaseOrder,
    status: POStatus | str | None = None,
    freight_amount: Decimal | str | int | None = None,
    freight_gl_account: GLAccount | None = UNSET,
    tax_code: TaxCode | None = UNSET,
) -> PurchaseOrder:
    """Close or reopen a purchase order, edit its freight, change its tax code.

    - Closing is always allowed.
    - Reopening is refused while the freight is in a GL batch (record_locked).
    - Freight edits need the freight out of any batch and the PO open to start with;
      a close given with them is applied after the edit, as one save.
    - The tax code also needs every product line reopened (Closed clear) and
      unreceived, because their GL lines carry the tax.
    Arguments left out (None, or UNSET where None clears a value) are not changed.
    """
    locked = _lock_po(purchase_order.pk)

    new_status, new_freight = parse_order_changes(
        status=status,
        freight_amount=freight_amount,
        freight_gl_account=freight_gl_account,
        tax_code=tax_code,
    )

    freight_edits: dict[str, Any] = {}
    if new_freight is not None and new_freight != locked.freight_amount:
        freight_edits["freight_amount"] = new_freight
    if (
        freight_gl_account is not UNSET
        and (freight_gl_account.pk if freight_gl_account else None) != locked.freight_gl_account_id
    ):
        freight_edits["freight_gl_account"] = freight_gl_account
    changes_tax = (
        tax_code is not UNSET and (tax_code.pk if tax_code else None) != locked.tax_code_id
    )
    changes_status = new_status is not None and new_status != locked.status
    if not freight_edits and not changes_tax and not changes_status:
        return locked

    reopening = changes_status and new_status == POStatus.OPEN
    if reopening:
        refuse(reopen_refusal(locked))
    if freight_edits:
        ensure_unlocked(record_type=FREIGHT_TYPE, record=locked, action="edited")
        _refuse_unless_po_open(locked, "its freight cannot be edited")
    if changes_tax:
        ensure_unlocked(
            record_type=FREIGHT_TYPE,
            record=locked,
            action=f"changed, so the tax code of purchase order {locked.number} cannot change",
        )
        _refuse_unless_po_open(locked, "its tax code cannot be changed")
        _refuse_unless_products_unreceived(locked)

    fields = dict(freight_edits)
    if changes_tax:
        fields["tax_code"] = tax_code
        lines = list(locked.lines.all())
        for line in lines:
            line.total = line.amount + purchase_tax(line.amount, tax_code)
        PurchaseOrderLine.objects.bulk_update(lines, ["total"])
    if changes_status:
        fields["status"] = new_status
        fields["closed_at"] = timezone.now() if new_status == POStatus.CLOSED else None

    if freight_edits or changes_tax:
        action = "edited"
    else:
        action = "closed" if new_status == POStatus.CLOSED else "reopened"
    save_audited(
        locked, fields, actor=actor, action=action, record_type=FREIGHT_TYPE, state=_freight_state
    )
    return locked


def _refuse_unless_products_unreceived(purchase_order: PurchaseOrder) -> None:
    # Locking the lines keeps them from being received while the tax code changes.
    lock_rows(PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order.pk))
    blocking = list(
        selectors.lines_blocking_tax_change(purchase_order_id=purchase_order.pk)
        .select_related("purchase_order")
        .order_by("pk")
    )
    if not blocking:
        return
    items = [_product_item(line) for line in blocking]
    raise ApplicationError(
        f"The tax code of {_po_reference(purchase_order)} can change only when every product "
        f"line is reopened and unreceived; {len(items)} "
        f"{'is' if len(items) == 1 else 'are'} not: "
        f"{', '.join(item['reference'] for item in items)}. Unbatch them if they are batched, "
        "clear their Closed box and unreceive them first.",
        code="products_not_unreceived",
        extra={"items": items},
    )


@transaction.atomic
def purchase_order_line_add(
    *,
    actor: AbstractBaseUser | None,
    purchase_order: PurchaseOrder,
    description: str,
    quantity: Decimal | str | int,
    unit_cost: Decimal | str | int,
    gl_account: GLAccount | None = None,
) -> PurchaseOrderLine:
    """A new product line on an open purchase order."""
    locked = _lock_po(purchase_order.pk)
    parsed = parse_added_line(
        {
            "description": description,
            "quantity": quantity,
            "unit_cost": unit_cost,
            "gl_account": gl_account,
        },
        locked.tax_code,
    )
    _refuse_unless_po_open(locked, "no product line can be added to it")

    last = PurchaseOrderLine.objects.filter(purchase_order=locked).aggregate(last=Max("position"))[
        "last"
    ]
    (line,) = _insert_lines(locked, [parsed], first_position=(last or 0) + 1)
    _audit_lines_created(actor, [line])
    return line


# Product lines ------------------------------------------------------------------------


@transaction.atomic
def purchase_order_line_update(
    *,
    actor: AbstractBaseUser | None,
    line: PurchaseOrderLine,
    description: str | None = None,
    quantity: Decimal | str | int | None = None,
    unit_cost: Decimal | str | int | None = None,
    gl_account: GLAccount | None = UNSET,
    closed: bool | None = None,
) -> PurchaseOrderLine:
    """Edit a product line or tick/clear its Closed box.

    Refused while the line is in a GL batch. Ticking Closed needs the line received.
    Description, quantity, unit cost and account change only on a line that is
    neither closed nor received: clear Closed and unreceive it first.
    """
    locked = _lock_line(line.pk)

    new_quantity, new_unit_cost = parse_line_changes(
        description=description,
        quantity=quantity,
        unit_cost=unit_cost,
        gl_account=gl_account,
        closed=closed,
    )

    edits: dict[str, Any] = {}
    if description is not None and description.strip() != locked.description:
        edits["description"] = description.strip()
    if new_quantity is not None and new_quantity != locked.quantity:
        edits["quantity"] = new_quantity
    if new_unit_cost is not None and new_unit_cost != locked.unit_cost:
        edits["unit_cost"] = new_unit_cost
    if gl_account is not UNSET and (gl_account.pk if gl_account else None) != locked.gl_account_id:
        edits["gl_account"] = gl_account
    changes_closed = closed is not None and closed != locked.closed
    if not edits and not changes_closed:
        return locked

    reference = _product_reference(locked)
    ensure_unlocked(record_type=PRODUCT_TYPE, record=locked)
    if edits and (locked.closed or locked.received):
        state = "received and closed" if locked.closed else "received"
        raise ApplicationError(
            f"{reference} is {state}, so it cannot be edited. Clear its Closed box and "
            "unreceive it first, make the change, then receive (and close) it again.",
            code="record_not_open",
            extra={"items": [_product_item(locked)]},
        )
    if changes_closed and closed and not locked.received:
        raise ApplicationError(
            f"{reference} is not received, so its Closed box cannot be ticked. Receive it "
            "first; receiving ticks Closed.",
            code="record_not_ready",
            extra={"items": [_product_item(locked)]},
        )

    product = edits.get("quantity", locked.quantity) * edits.get("unit_cost", locked.unit_cost)
    tax_code = locked.purchase_order.tax_code
    if not fits_money(product) or not fits_with_tax(to_cents(product), tax_code):
        raise InvalidInput(
            "The product line has errors; correct the fields listed.",
            fields={"quantity": ["Quantity times unit cost is too large."]},
        )
    amount = to_cents(product)
    fields = {**edits, "amount": amount, "total": amount + purchase_tax(amount, tax_code)}
    if changes_closed:
        fields["closed"] = closed
    save_audited(
        locked,
        fields,
        actor=actor,
        # A change of the Closed box alone is its own step in the audit trail.
        action="edited" if edits else ("closed" if closed else "reopened"),
        record_type=PRODUCT_TYPE,
        state=_line_state,
    )
    return locked


@transaction.atomic
def purchase_order_line_receive(
    *,
    actor: AbstractBaseUser | None,
    line: PurchaseOrderLine,
    received_date: datetime.date | None = None,
) -> PurchaseOrderLine:
    """Receive a product line: received, Closed ticked, received on `received_date`
    (today by default). The line is then ready for accounting."""
    locked = _lock_line(line.pk)
    errors: dict[str, list[str]] = {}
    if received_date is not None:
        check_date(received_date, field="received_date", errors=errors)
    raise_if_errors(errors, "receipt")
    refuse(receive_refusal(locked))
    save_audited(
        locked,
        {
            "received": True,
            "closed": True,
            "received_date": received_date or timezone.localdate(),
        },
        actor=actor,
        action="received",
        record_type=PRODUCT_TYPE,
        state=_line_state,
    )
    return locked


@transaction.atomic
def purchase_order_line_unreceive(
    *, actor: AbstractBaseUser | None, line: PurchaseOrderLine
) -> PurchaseOrderLine:
    """Unreceive a product line whose Closed box is clear and that is in no batch."""
    locked = _lock_line(line.pk)
    refuse(unreceive_refusal(locked))
    save_audited(
        locked,
        {"received": False, "received_date": None},
        actor=actor,
        action="unreceived",
        record_type=PRODUCT_TYPE,
        state=_line_state,
    )
    return locked
