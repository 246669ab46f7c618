"""ConnectWise's value formats: dates as `YYYY-MM-DDTHH:MM:SSZ`, references as
`{"id", "identifier" or "name", "_info": {"<x>_href": url}}` (each kind with the fields
ConnectWise's reference of it has: a company or member both, a tax code, expense type or
purchase order a name), `_info` on every record."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone


def cw_date(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value:%Y-%m-%d}T00:00:00Z"


def money(value: Decimal | int | None) -> float:
    """Money as a JSON number (ConnectWise's models): cents are exact in a double."""
    return float(value or 0)


def reference(
    base: str, kind: str, pk: int, *, identifier: str | None = None, name: str | None = None
) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": pk}
    if identifier is not None:
        ref["identifier"] = identifier
    if name is not None:
        ref["name"] = name
    href = {
        "company": f"company/companies/{pk}",
        "member": f"system/members/{pk}",
        "invoice": f"finance/invoices/{pk}",
        "expense": f"expense/entries/{pk}",
        "purchaseOrder": f"procurement/purchaseorders/{pk}",
        "lineItem": f"procurement/purchaseorders/lineitems/{pk}",
        "taxCode": f"finance/taxCodes/{pk}",
        "expenseType": f"expense/types/{pk}",
        "batch": f"finance/accounting/batches/{pk}",
        "accountingPackage": f"finance/accountingPackages/{pk}",
    }[kind]
    ref["_info"] = {f"{kind}_href": base + href}
    return ref


def company_ref(base: str, company) -> dict[str, Any]:
    return reference(base, "company", company.pk, identifier=company.identifier, name=company.name)


def member_ref(base: str, user) -> dict[str, Any]:
    name = user.get_full_name() or user.username
    return reference(base, "member", user.pk, identifier=user.username, name=name)


def info(last_updated: dt.date | dt.datetime | None, updated_by: str = "") -> dict[str, Any]:
    return {"lastUpdated": cw_date(last_updated), "updatedBy": updated_by}


# ConnectWise's GL type codes (`glType`, `glTypeId`) of an expense: Expense Internal
# for the company's own, Expense External for one charged to a customer company.
EXPENSE_INTERNAL, EXPENSE_EXTERNAL = "EI", "EE"


def expense_gl_type(entry) -> str:
    return EXPENSE_EXTERNAL if entry.company_id else EXPENSE_INTERNAL


def tax_code_ref(base: str, tax_code) -> dict[str, Any] | None:
    """ConnectWise's TaxCodeReference: `{id, name, _info}`."""
    if tax_code is None:
        return None
    return reference(base, "taxCode", tax_code.pk, name=tax_code.name)


# Procurement ids: a product line's is twice its id, a freight's twice its purchase
# order's id plus one, so the two kinds share one id space (ConnectWise's `id` and, as
# text, `unpostedProductId`).
PRODUCT, FREIGHT = 0, 1


def procurement_id(record_type: str, pk: int) -> int:
    return pk * 2 + (FREIGHT if record_type == "freight" else PRODUCT)


def procurement_record(cw_id: int) -> tuple[str, int]:
    return ("freight" if cw_id % 2 == FREIGHT else "product"), cw_id // 2
