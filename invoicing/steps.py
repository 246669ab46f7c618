"""The predicate of an invoice's own step, a change of status (or of anything else):
it returns the refusal (an ApplicationError naming the invoice and the way out) or
None. The service raises what it returns; the invoice's page offers the status only
when it returns None, and shows its sentence otherwise."""

from accounting.door import locked_refusal
from core.errors import ApplicationError
from invoicing.models import Invoice

RECORD_TYPE = "invoice"


def change_refusal(invoice: Invoice) -> ApplicationError | None:
    """Any change, a status change included, is refused while the invoice is in a GL
    batch."""
    return locked_refusal(record_type=RECORD_TYPE, record=invoice)
