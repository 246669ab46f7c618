"""One predicate per step of a purchase order's own workflow: reopen the order (its
status back to open), receive and unreceive a product line. Each returns the refusal
(an ApplicationError naming the record and the way out) or None. The services raise
what it returns; the pages offer a step only when it returns None, and show its
sentence otherwise."""

from accounting.door import locked_refusal, record_item
from core.errors import ApplicationError
from procurement.models import PurchaseOrder, PurchaseOrderLine

FREIGHT_TYPE = "freight"
PRODUCT_TYPE = "product"

Refusal = ApplicationError | None


def reopen_refusal(purchase_order: PurchaseOrder) -> Refusal:
    """Setting a closed order open again, refused while its freight is in a GL batch.
    (Closing is always allowed.)"""
    return locked_refusal(
        record_type=FREIGHT_TYPE,
        record=purchase_order,
        action=f"changed, so purchase order {purchase_order.number} cannot be reopened",
    )


def receive_refusal(line: PurchaseOrderLine) -> Refusal:
    refusal = locked_refusal(record_type=PRODUCT_TYPE, record=line, action="received again")
    if refusal is None and line.received:
        item = record_item(PRODUCT_TYPE, line)
        refusal = ApplicationError(
            f"{item['reference']} is already received (on {line.received_date:%Y-%m-%d}). To "
            "receive it again, clear its Closed box and unreceive it first.",
            code="invalid_transition",
            extra={"items": [item]},
        )
    return refusal


def unreceive_refusal(line: PurchaseOrderLine) -> Refusal:
    """Unreceiving a line whose Closed box is clear and that is in no batch."""
    refusal = locked_refusal(record_type=PRODUCT_TYPE, record=line, action="unreceived")
    if refusal is not None:
        return refusal
    item = record_item(PRODUCT_TYPE, line)
    if line.closed:
        return ApplicationError(
            f"{item['reference']} is closed, so it cannot be unreceived. Clear the Closed box "
            "first and save, then unreceive it.",
            code="invalid_transition",
            extra={"items": [item]},
        )
    if not line.received:
        return ApplicationError(
            f"{item['reference']} is not received, so there is nothing to unreceive.",
            code="invalid_transition",
            extra={"items": [item]},
        )
    return None
