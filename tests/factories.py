"""Test data: factory_boy factories, and records ready for accounting.

Records with workflow state (invoices, closed POs, approved sheets, received lines)
are made through the services, so a test starts from a state the product can reach.
"""

import datetime
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import factory
import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import models

from accounting.models import (
    AuditEvent,
    DefaultGLAccount,
    GLAccount,
    GLAccountType,
    GLBatch,
    TaxCode,
)
from core.errors import ApplicationError
from core.models import Company
from core.roles import APPROVER, FINANCE, STAFF
from expenses import services as expense_services
from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType, SheetStatus
from invoicing import services as invoice_services
from invoicing.models import Invoice
from procurement import services as procurement_services
from procurement.models import PurchaseOrder, PurchaseOrderLine

TODAY = datetime.date(2025, 3, 14)

# Reference data ----------------------------------------------------------------------


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    identifier = factory.Sequence(lambda n: f"CLIENT{n}")
    name = factory.Sequence(lambda n: f"Client {n} Ltd")
    is_client = True
    is_vendor = False


class VendorFactory(CompanyFactory):
    identifier = factory.Sequence(lambda n: f"VENDOR{n}")
    name = factory.Sequence(lambda n: f"Vendor {n} Inc")
    is_client = False
    is_vendor = True


class GLAccountFactory(factory.django.DjangoModelFactory):
    """A GL account; pass `type` (a GLAccountType) for anything but income."""

    class Meta:
        model = GLAccount

    number = factory.Sequence(lambda n: f"{9000 + n}")
    type = GLAccountType.INCOME
    name = factory.LazyAttribute(
        lambda account: f"{GLAccountType(account.type).label} {account.number}"
    )


# One conventional account number per type, for the default accounts of the setup.
DEFAULT_ACCOUNT_NUMBERS = {
    GLAccountType.ACCOUNTS_RECEIVABLE: "1200",
    GLAccountType.INVENTORY: "1300",
    GLAccountType.ACCOUNTS_PAYABLE: "2000",
    GLAccountType.SALES_TAX: "2200",
    GLAccountType.REIMBURSEMENT: "2300",
    GLAccountType.INCOME: "4000",
    GLAccountType.EXPENSE: "6000",
    GLAccountType.FREIGHT: "6100",
}


def setup_default_accounts() -> dict[str, GLAccount]:
    """One GL account per type, each the setup's default for its type. Idempotent."""
    accounts = {}
    for account_type in GLAccountType:
        account, _ = GLAccount.objects.get_or_create(
            number=DEFAULT_ACCOUNT_NUMBERS[account_type],
            defaults={"name": account_type.label, "type": account_type},
        )
        DefaultGLAccount.objects.update_or_create(
            type=account_type, defaults={"gl_account": account}
        )
        accounts[account_type.value] = account
    return accounts


class TaxCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxCode

    code = factory.Sequence(lambda n: f"TX{n}")
    name = factory.LazyAttribute(lambda tax: f"Sales tax {tax.code}")
    rate = Decimal("8.25")
    gl_account = factory.SubFactory(GLAccountFactory, type=GLAccountType.SALES_TAX)


class UserFactory(factory.django.DjangoModelFactory):
    """A user; `roles=["Finance"]` puts them in those groups (made by a migration)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Tester"
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    # Hashing a real password costs a third of a second; only tests that sign in
    # with one pay for it: UserFactory(raw_password="...").
    password = factory.LazyFunction(lambda: make_password(None))

    @factory.post_generation
    def raw_password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if extracted:
            self.set_password(extracted)
            if create:
                self.save(update_fields=["password"])

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


def finance_user(**kwargs: Any) -> User:
    return UserFactory(roles=[FINANCE], **kwargs)


def approver_user(**kwargs: Any) -> User:
    return UserFactory(roles=[APPROVER], **kwargs)


def staff_user(**kwargs: Any) -> User:
    return UserFactory(roles=[STAFF], **kwargs)


# Records -----------------------------------------------------------------------------


class InvoiceFactory(factory.Factory):
    """An invoice in status New, made by `invoice_create`."""

    class Meta:
        model = Invoice

    actor = factory.SubFactory(UserFactory, roles=[FINANCE])
    company = factory.SubFactory(CompanyFactory)
    date = TODAY
    due_date = None
    tax_code = None
    lines = factory.LazyFunction(
        lambda: [
            {"description": "Managed services, March", "quantity": "1", "unit_price": "1200.00"},
            {"description": "On-site hours", "quantity": "2.5", "unit_price": "95.00"},
        ]
    )

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Invoice:
        return invoice_services.invoice_create(**kwargs)

    @classmethod
    def _build(cls, model_class: type, *args: Any, **kwargs: Any) -> Invoice:
        raise NotImplementedError("Invoices are made through invoice_create; use create().")


class ExpenseTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExpenseType

    code = factory.Sequence(lambda n: f"EXP{n}")
    name = factory.Sequence(lambda n: f"Expense type {n}")
    gl_account = factory.SubFactory(GLAccountFactory, type=GLAccountType.EXPENSE)


class ExpenseSheetFactory(factory.django.DjangoModelFactory):
    """An open sheet. For submitted or approved ones, use the services (or
    `approved_expense`), so entries stay in step with their sheet."""

    class Meta:
        model = ExpenseSheet

    member = factory.SubFactory(UserFactory, roles=[STAFF])
    period_start = datetime.date(2025, 3, 1)
    period_end = datetime.date(2025, 3, 31)
    status = SheetStatus.OPEN


class ExpenseEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExpenseEntry

    sheet = factory.SubFactory(ExpenseSheetFactory)
    date = TODAY
    expense_type = factory.SubFactory(ExpenseTypeFactory)
    amount = Decimal("42.50")
    description = "Taxi to the client site"
    billable = False
    company = None
    is_approved = factory.LazyAttribute(lambda entry: entry.sheet.status == SheetStatus.APPROVED)


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    """An open purchase order without lines; add them with PurchaseOrderLineFactory."""

    class Meta:
        model = PurchaseOrder

    number = factory.Sequence(lambda n: f"PO-T{n}")
    vendor = factory.SubFactory(VendorFactory)
    date = TODAY
    freight_amount = Decimal("0.00")


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    """An unreceived product line; its amount is quantity times unit cost."""

    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    position = factory.Sequence(lambda n: n + 1)
    description = factory.Sequence(lambda n: f"Switch, 24 port ({n})")
    quantity = Decimal("2.00")
    unit_cost = Decimal("150.00")
    amount = factory.LazyAttribute(lambda line: line.quantity * line.unit_cost)


class GLBatchFactory(factory.django.DjangoModelFactory):
    """A GL batch row only: nothing is locked, queued or sent."""

    class Meta:
        model = GLBatch

    batch_identifier = factory.Sequence(lambda n: f"GL-T{n + 1}")
    transfer_method = "file"
    export_format = "gl_journal_csv"
    package = "other"
    created_by = factory.SubFactory(UserFactory, roles=[FINANCE])


# Records ready for accounting --------------------------------------------------------


def closed_invoice(*, actor: User | None = None, **kwargs: Any) -> Invoice:
    """An invoice with a closed status, in no batch: ready to be batched."""
    setup_default_accounts()
    actor = actor or finance_user()
    invoice = InvoiceFactory(actor=actor, **kwargs)
    return invoice_services.invoice_set_status(actor=actor, invoice=invoice, status="Closed")


def approved_expense(*, member: User | None = None, approver: User | None = None, **kwargs: Any):
    """An expense entry on an approved sheet, in no batch: ready to be batched."""
    setup_default_accounts()
    member = member or staff_user()
    approver = approver or approver_user()
    sheet = expense_services.expense_sheet_create(
        actor=member, member=member, period_start=TODAY.replace(day=1), period_end=TODAY
    )
    values = {
        "date": TODAY,
        "expense_type": ExpenseTypeFactory(),
        "amount": Decimal("42.50"),
        "description": "Taxi to the client site",
        **kwargs,
    }
    entry = expense_services.expense_entry_create(actor=member, sheet=sheet, **values)
    expense_services.expense_sheet_submit(actor=member, sheet=sheet)
    expense_services.expense_sheet_approve(actor=approver, sheet=sheet)
    entry.refresh_from_db()
    return entry


def open_po(*, actor: User | None = None, **kwargs: Any) -> PurchaseOrder:
    """An open purchase order made by `purchase_order_create`, with one product line
    unless `lines` says otherwise."""
    setup_default_accounts()
    values = {
        "vendor": VendorFactory(),
        "date": TODAY,
        "lines": [{"description": "Switch, 24 port", "quantity": "2", "unit_cost": "150.00"}],
        **kwargs,
    }
    return procurement_services.purchase_order_create(actor=actor or finance_user(), **values)


def closed_po_with_freight(
    *, actor: User | None = None, freight_amount: Decimal | str = Decimal("25.00"), **kwargs: Any
) -> PurchaseOrder:
    """A closed purchase order with freight, its freight in no batch: ready to be
    batched."""
    actor = actor or finance_user()
    purchase_order = open_po(actor=actor, freight_amount=freight_amount, **kwargs)
    return procurement_services.purchase_order_update(
        actor=actor, purchase_order=purchase_order, status="closed"
    )


def received_product(*, actor: User | None = None, **kwargs: Any) -> PurchaseOrderLine:
    """A received product line with its Closed box ticked, in no batch: ready to be
    batched."""
    actor = actor or finance_user()
    purchase_order = open_po(actor=actor, **kwargs)
    line = purchase_order.lines.get()
    return procurement_services.purchase_order_line_receive(
        actor=actor, line=line, received_date=TODAY
    )


def put_in_batch(record: models.Model, *, field: str = "gl_batch", batch: GLBatch | None = None):
    """Put a record in a GL batch by a plain UPDATE, as if a batch were created, without
    the batch workflow. `field` is "freight_gl_batch" for freight."""
    batch = batch or GLBatchFactory()
    type(record).objects.filter(pk=record.pk).update(**{field: batch})
    record.refresh_from_db()
    return batch


# Assertion helpers -------------------------------------------------------------------


def row_state(record: models.Model) -> dict[str, Any]:
    """The record's stored columns, read again from the database, with its lines."""
    fresh = type(record).objects.get(pk=record.pk)
    state = {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}
    if hasattr(fresh, "lines"):
        state["lines"] = [
            {field.attname: getattr(line, field.attname) for field in line._meta.concrete_fields}
            for line in fresh.lines.order_by("pk")
        ]
    if isinstance(fresh, ExpenseSheet):
        state["entries"] = list(fresh.entries.order_by("pk").values())
    return state


def audit_count() -> int:
    return AuditEvent.objects.count()


def assert_refused(
    call: Callable[[], Any], *, code: str, records: Sequence[models.Model]
) -> ApplicationError:
    """Run `call`, expect it refused with `code`, and prove it changed nothing: the
    records read the same from the database and no audit event was written."""
    before = [row_state(record) for record in records]
    events = audit_count()
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert [row_state(record) for record in records] == before
    assert audit_count() == events
    return caught.value
