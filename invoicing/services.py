"""Every write to invoices: one function per action, each in one transaction.

An invoice in a GL batch is locked. Outside a batch, its fields and lines change only
while its status is an open one; a change of status alone is always allowed then, so
the vendor's fix-up steps work: unbatch, set an open status, edit, set a closed status.
"""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounting.door import (
    GLAccount,
    TaxCode,
    audit_record,
    field_changes,
    record_item,
    refuse,
    save_audited,
    to_cents,
)
from core.counters import counter_next
from core.errors import ApplicationError, InvalidInput
from core.inputs import (
    UNSET,
    add_error,
    add_nested_errors,
    check_bool,
    check_date,
    check_description,
    check_instance,
    check_line_list,
    check_line_object,
    fits_money,
    parse_non_negative_money,
    parse_quantity,
    raise_if_errors,
)
from core.models import Company
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus
from invoicing.steps import RECORD_TYPE, change_refusal

NEW_STATUS_NAME = "New"
ZERO = Decimal("0.00")


LINE_FIELDS = {"description", "quantity", "unit_price", "gl_account", "taxable"}


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    gl_account: GLAccount | None
    taxable: bool

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_price)

    def key(self) -> tuple:
        account_id = self.gl_account.pk if self.gl_account else None
        return (self.description, self.quantity, self.unit_price, account_id, self.taxable)


# Input checks -----------------------------------------------------------------------


def _check_date(value: Any, *, field: str, errors: dict[str, list[str]], required: bool) -> None:
    # Unlike check_date alone: a missing date is named as missing, and a due date may
    # be left out.
    if value is None:
        if required:
            add_error(errors, field, "This date is required.")
        return
    check_date(value, field=field, errors=errors)


def _parse_lines(lines: Any, errors: dict[str, list[str]]) -> list[LineInput]:
    if not check_line_list(lines, errors=errors):
        return []
    if not lines:
        add_error(errors, "lines", "An invoice needs at least one line.")
        return []
    parsed: list[LineInput] = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        if not check_line_object(line, LINE_FIELDS, field=prefix, errors=errors):
            continue
        line_errors: dict[str, list[str]] = {}
        description = line.get("description")
        check_description(description, field="description", errors=line_errors, noun="line")
        quantity = parse_quantity(line.get("quantity"), field="quantity", errors=line_errors)
        unit_price = parse_non_negative_money(
            line.get("unit_price"), field="unit_price", errors=line_errors, noun="unit price"
        )
        gl_account = line.get("gl_account")
        check_instance(
            gl_account, GLAccount, field="gl_account", errors=line_errors, required=False
        )
        taxable = line.get("taxable", True)
        check_bool(taxable, field="taxable", errors=line_errors)
        add_nested_errors(errors, prefix, line_errors)
        # `prefix` itself has messages only for unknown fields (see check_line_object).
        if not line_errors and prefix not in errors:
            if not fits_money(quantity * unit_price):
                add_error(errors, f"{prefix}.quantity", "Quantity times unit price is too large.")
                continue
            line_input = LineInput(
                description=description.strip(),
                quantity=quantity,
                unit_price=unit_price,
                gl_account=gl_account,
                taxable=taxable,
            )
            parsed.append(line_input)
    return parsed


def _resolve_status(status: InvoiceStatus | str, errors: dict[str, list[str]]) -> InvoiceStatus:
    if isinstance(status, InvoiceStatus) and status.pk is not None:
        return status
    if isinstance(status, str):
        found = InvoiceStatus.objects.filter(name__iexact=status.strip()).first()
        if found is not None:
            return found
        names = ", ".join(InvoiceStatus.objects.values_list("name", flat=True))
        errors.setdefault("status", []).append(
            f"There is no invoice status named '{status}'. Choose one of: {names}."
        )
    else:
        errors.setdefault("status", []).append("Give an invoice status or its name.")
    return None  # type: ignore[return-value]


# Totals and audit ---------------------------------------------------------------------


def _totals(
    lines: Sequence[LineInput | InvoiceLine], tax_code: TaxCode | None
) -> tuple[Decimal, Decimal, Decimal]:
    """Subtotal, tax and total; tax is on the taxable lines, rounded once to cents."""
    amounts = [(to_cents(line.quantity * line.unit_price), line.taxable) for line in lines]
    subtotal = sum((amount for amount, _ in amounts), ZERO)
    taxable = sum((amount for amount, is_taxable in amounts if is_taxable), ZERO)
    tax = to_cents(taxable * tax_code.rate / Decimal(100)) if tax_code else ZERO
    return subtotal, tax, subtotal + tax


def _refuse_total_too_large(total: Decimal) -> None:
    if not fits_money(total):
        raise InvalidInput(
            "The invoice total is too large; split it into several invoices.",
            fields={"lines": ["The invoice total is too large."]},
        )


def _lines_text(lines: Sequence[LineInput | InvoiceLine]) -> str:
    """One readable string for the audit trail's before/after of the lines."""
    parts = []
    for line in lines:
        text = f"{line.description}: {line.quantity} x {line.unit_price}"
        if line.gl_account is not None:
            text += f" to {line.gl_account.number}"
        if not line.taxable:
            text += " (not taxable)"
        parts.append(text)
    return "; ".join(parts)


def _invoice_state(invoice: Invoice) -> dict[str, Any]:
    """The invoice's audited fields; its lines are audited as one text (see `_state`)."""
    return {
        "company": invoice.company,
        "date": invoice.date,
        "due_date": invoice.due_date,
        "status": invoice.status.name,
        "is_closed": invoice.is_closed,
        "tax_code": invoice.tax_code.code if invoice.tax_code else None,
        "subtotal": f"{invoice.subtotal:.2f}",
        "tax": f"{invoice.tax:.2f}",
        "total": f"{invoice.total:.2f}",
    }


def _state(invoice: Invoice, lines: Sequence[LineInput | InvoiceLine]) -> dict[str, Any]:
    return {**_invoice_state(invoice), "lines": _lines_text(lines)}


def _insert_lines(invoice: Invoice, lines: Sequence[LineInput]) -> list[InvoiceLine]:
    return InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            gl_account=line.gl_account,
            taxable=line.taxable,
        )
        for position, line in enumerate(lines, start=1)
    )


def _line_key(line: InvoiceLine) -> tuple:
    return (line.description, line.quantity, line.unit_price, line.gl_account_id, line.taxable)


def _default_status() -> InvoiceStatus:
    status = (
        InvoiceStatus.objects.filter(name=NEW_STATUS_NAME).first()
        or InvoiceStatus.objects.filter(is_closed=False).first()
    )
    if status is None or status.is_closed:
        raise ApplicationError(
            "There is no open invoice status to start an invoice with. Add one (for example "
            "New) to the invoice statuses setup table.",
            code="validation_error",
            status_code=400,
        )
    return status


# Services ---------------------------------------------------------------------------


@transaction.atomic
def invoice_create(
    *,
    actor: AbstractBaseUser | None,
    company: Company,
    date: datetime.date,
    due_date: datetime.date | None = None,
    tax_code: TaxCode | None = None,
    lines: Sequence[Mapping[str, Any]],
) -> Invoice:
    """A new invoice in status New, numbered INV-<n>, with its lines and totals."""
    errors: dict[str, list[str]] = {}
    check_instance(company, Company, field="company", errors=errors, required=True)
    _check_date(date, field="date", errors=errors, required=True)
    _check_date(due_date, field="due_date", errors=errors, required=False)
    check_instance(tax_code, TaxCode, field="tax_code", errors=errors, required=False)
    parsed_lines = _parse_lines(lines, errors)
    raise_if_errors(errors, "invoice")

    status = _default_status()
    subtotal, tax, total = _totals(parsed_lines, tax_code)
    _refuse_total_too_large(total)
    invoice = Invoice.objects.create(
        number=f"INV-{counter_next(name='invoice')}",
        company=company,
        date=date,
        due_date=due_date,
        status=status,
        is_closed=status.is_closed,
        tax_code=tax_code,
        subtotal=subtotal,
        tax=tax,
        total=total,
        created_by=actor,
    )
    created_lines = _insert_lines(invoice, parsed_lines)
    audit_record(
        actor=actor,
        action="created",
        record_type=RECORD_TYPE,
        record_id=invoice.pk,
        changes=field_changes({}, _state(invoice, created_lines)),
    )
    return invoice


@transaction.atomic
def invoice_update(
    *,
    actor: AbstractBaseUser | None,
    invoice: Invoice,
    company: Company | None = None,
    date: datetime.date | None = None,
    due_date: datetime.date | None = UNSET,
    tax_code: TaxCode | None = UNSET,
    lines: Sequence[Mapping[str, Any]] | None = None,
    status: InvoiceStatus | str | None = None,
) -> Invoice:
    """Edit an invoice's fields, replace its lines, and/or set its status.

    Arguments left out (None, or UNSET where None means "no due date"/"no tax code")
    are not changed; `lines` replaces all lines. Values equal to the current ones are
    no change, so sending the current state back is never refused. Edits need the
    invoice to start in an open status; a closed status given with them is applied
    after the edits, so one save can finish the fix-up.
    """
    locked = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("company", "status", "tax_code")
        .get(pk=invoice.pk)
    )
    current_lines = list(locked.lines.select_related("gl_account"))

    errors: dict[str, list[str]] = {}
    if company is not None:
        check_instance(company, Company, field="company", errors=errors, required=True)
    if date is not None:
        _check_date(date, field="date", errors=errors, required=True)
    if due_date is not UNSET:
        _check_date(due_date, field="due_date", errors=errors, required=False)
    if tax_code is not UNSET:
        check_instance(tax_code, TaxCode, field="tax_code", errors=errors, required=False)
    new_lines = _parse_lines(lines, errors) if lines is not None else None
    new_status = _resolve_status(status, errors) if status is not None else None
    raise_if_errors(errors, "invoice")

    edits: dict[str, Any] = {}
    if company is not None and company.pk != locked.company_id:
        edits["company"] = company
    if date is not None and date != locked.date:
        edits["date"] = date
    if due_date is not UNSET and due_date != locked.due_date:
        edits["due_date"] = due_date
    if tax_code is not UNSET and (tax_code.pk if tax_code else None) != locked.tax_code_id:
        edits["tax_code"] = tax_code
    if new_lines is not None and [line.key() for line in new_lines] != [
        _line_key(line) for line in current_lines
    ]:
        edits["lines"] = new_lines
    changes_status = new_status is not None and new_status.pk != locked.status_id
    if not edits and not changes_status:
        return locked

    refuse(change_refusal(locked))
    if edits and locked.status.is_closed:
        raise ApplicationError(
            f"Invoice {locked.number} has the closed status {locked.status.name}, so it "
            "cannot be edited. Set an open status first and save, then edit it and set a "
            "closed status again.",
            code="record_not_open",
            extra={"items": [record_item(RECORD_TYPE, locked)]},
        )

    fields = {name: value for name, value in edits.items() if name != "lines"}
    final_lines: Sequence[LineInput | InvoiceLine] = current_lines
    if "lines" in edits:
        locked.lines.all().delete()
        final_lines = _insert_lines(locked, edits["lines"])
    subtotal, tax, total = _totals(final_lines, fields.get("tax_code", locked.tax_code))
    _refuse_total_too_large(total)
    fields.update(subtotal=subtotal, tax=tax, total=total)
    if changes_status:
        fields.update(status=new_status, is_closed=new_status.is_closed)

    save_audited(
        locked,
        fields,
        actor=actor,
        action="status_changed" if changes_status and not edits else "edited",
        record_type=RECORD_TYPE,
        state=_invoice_state,
        noted=field_changes(
            {"lines": _lines_text(current_lines)}, {"lines": _lines_text(final_lines)}
        ),
    )
    return locked


@transaction.atomic
def invoice_set_status(
    *, actor: AbstractBaseUser | None, invoice: Invoice, status: InvoiceStatus | str
) -> Invoice:
    """Set an invoice's status (an InvoiceStatus or its name); refused while batched."""
    if status is None:
        raise InvalidInput("Choose a status.", fields={"status": ["This field is required."]})
    return invoice_update(actor=actor, invoice=invoice, status=status)


def paid_status_refusal(name: str) -> str | None:
    """Why an invoice status cannot be the setup's status for fully paid invoices: it
    must exist and be a closed status, so that a paid invoice stays ready for
    accounting and in its GL batch."""
    status = InvoiceStatus.objects.filter(name__iexact=name.strip()).first()
    if status is None:
        names = ", ".join(
            InvoiceStatus.objects.filter(is_closed=True).values_list("name", flat=True)
        )
        return f"There is no invoice status named '{name}'. Choose a closed one: {names}."
    if not status.is_closed:
        return (
            f"{status.name} is an open status; a paid invoice must keep a closed status, "
            "or it would stop being ready for accounting. Choose a closed one (add Paid, "
            "closed, to the invoice statuses)."
        )
    return None


@transaction.atomic
def invoices_mark_paid(
    *, actor: AbstractBaseUser | None, invoice_ids: Sequence[int], status_name: str
) -> list[int]:
    """Move fully paid invoices to the setup's status for them, each audited
    (`status_set_paid`). Only the status changes, from one closed status to another:
    the lines, amounts and dates that were sent stay as they are, and an invoice in a GL
    batch stays in it, locked. An invoice in an open status (unbatched to be corrected)
    is left alone. Answers the ids moved."""
    status = InvoiceStatus.objects.filter(name__iexact=status_name.strip(), is_closed=True).first()
    if status is None:
        return []
    rows = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("company", "status", "tax_code")
        .filter(pk__in=invoice_ids, is_closed=True)
        .exclude(status=status)
        .order_by("pk")
    )
    moved = []
    for invoice in rows:
        save_audited(
            invoice,
            {"status": status},
            actor=actor,
            action="status_set_paid",
            record_type=RECORD_TYPE,
            state=_invoice_state,
            noted={"reason": "fully paid in the accounting package"},
        )
        moved.append(invoice.pk)
    return moved
