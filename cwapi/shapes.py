"""ConnectWise's value formats: dates as `YYYY-MM-DDTHH:MM:SSZ`, references as
`{"id", "identifier", "name", "_info": {"<x>_href": url}}`, `_info` on every record."""

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


# Procurement ids: a product line's is twice its id, a freight's twice its purchase
# order's id plus one, so the two kinds share one id space (ConnectWise's `id` and, as
# text, `unpostedProductId`).
PRODUCT, FREIGHT = 0, 1


def procurement_id(record_type: str, pk: int) -> int:
    return pk * 2 + (FREIGHT if record_type == "freight" else PRODUCT)


def procurement_record(cw_id: int) -> tuple[str, int]:
    return ("freight" if cw_id % 2 == FREIGHT else "product"), cw_id // 2
