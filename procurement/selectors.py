"""Reads of purchase orders and product lines for the API, the browser and accounting."""

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from core.errors import NotFound
from procurement.models import PurchaseOrder, PurchaseOrderLine


def purchase_order_line_queryset() -> QuerySet[PurchaseOrderLine]:
    return PurchaseOrderLine.objects.select_related(
        "purchase_order__vendor", "gl_account", "gl_batch", "original_batch"
    )


def purchase_order_queryset() -> QuerySet[PurchaseOrder]:
    """Purchase orders with their lines and every batch the screens show, joined once."""
    return PurchaseOrder.objects.select_related(
        "vendor", "tax_code", "freight_gl_account", "freight_gl_batch", "freight_original_batch"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=PurchaseOrderLine.objects.select_related(
                "gl_account", "gl_batch", "original_batch"
            ),
        )
    )


def lines_blocking_tax_change(*, purchase_order_id: int) -> QuerySet[PurchaseOrderLine]:
    """Product lines that keep the order's tax code from changing: closed, received or
    batched ones (each must be reopened and unreceived first)."""
    return PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id).filter(
        Q(closed=True) | Q(received=True) | Q(gl_batch__isnull=False)
    )


def purchase_order_get(*, purchase_order_id: int) -> PurchaseOrder:
    try:
        return purchase_order_queryset().get(pk=purchase_order_id)
    except PurchaseOrder.DoesNotExist:
        raise NotFound(f"There is no purchase order with id {purchase_order_id}.") from None


def purchase_order_line_list(
    *, filters: dict[str, Any] | None = None
) -> QuerySet[PurchaseOrderLine]:
    """Product lines, narrowed by any of: `purchase_order` (id), `received`, `closed`,
    `gl_batch` (batch identifier)."""
    filters = filters or {}
    lines = purchase_order_line_queryset().order_by("purchase_order_id", "position", "id")
    if filters.get("purchase_order"):
        lines = lines.filter(purchase_order_id=filters["purchase_order"])
    for flag in ("received", "closed"):
        if filters.get(flag) is not None:
            lines = lines.filter(**{flag: filters[flag]})
    if filters.get("gl_batch"):
        lines = lines.filter(gl_batch__batch_identifier=filters["gl_batch"])
    return lines


def purchase_order_line_get(*, line_id: int) -> PurchaseOrderLine:
    try:
        return purchase_order_line_queryset().get(pk=line_id)
    except PurchaseOrderLine.DoesNotExist:
        raise NotFound(f"There is no product line with id {line_id}.") from None


def purchase_order_by_number(number: str) -> int | None:
    """The id of the purchase order whose number is exactly `number` (any case)."""
    return (
        PurchaseOrder.objects.filter(number__iexact=number.strip())
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )


def purchase_order_search(
    *, number: str = "", vendor: str = "", status: str = "", freight_gl_batch: str = ""
) -> QuerySet[PurchaseOrder]:
    """Procurement > Purchase Orders: newest first, with the number of product lines,
    by part of the number, part of the vendor's name, status and freight GL batch."""
    orders = (
        PurchaseOrder.objects.select_related("vendor", "freight_gl_batch", "freight_original_batch")
        .annotate(line_count=Count("lines"))
        .order_by("-date", "-id")
    )
    if number:
        orders = orders.filter(number__icontains=number.strip())
    if vendor:
        text = vendor.strip()
        orders = orders.filter(Q(vendor__name__icontains=text) | Q(vendor__identifier__iexact=text))
    if status:
        orders = orders.filter(status=status)
    if freight_gl_batch:
        identifier = freight_gl_batch.strip()
        orders = orders.filter(
            Q(freight_gl_batch__batch_identifier__iexact=identifier)
            | Q(freight_original_batch__batch_identifier__iexact=identifier)
        )
    return orders


def purchase_order_header(*, purchase_order_id: int) -> PurchaseOrder:
    """One purchase order with what its page header and freight form show, without
    loading its product lines (the Products tab pages through them)."""
    try:
        return PurchaseOrder.objects.select_related(
            "vendor", "tax_code", "freight_gl_account", "freight_gl_batch", "freight_original_batch"
        ).get(pk=purchase_order_id)
    except PurchaseOrder.DoesNotExist:
        raise NotFound(f"There is no purchase order with id {purchase_order_id}.") from None
