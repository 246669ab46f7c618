"""The documents the Xero connector creates: a record's sales invoice or bill,
built from the Xero CSV export's document, its contact (found by name or
created), the requests that create them (with their Idempotency-Key), and what
Xero created, recorded at once (`XeroDocument`)."""

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from xero_python.accounting.models import (
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
)

from accounting.connectors.xero.client import XeroClient
from accounting.exporters.base import (
    BILL_CONTROL_TYPES,
    INVOICE_CONTROL_TYPES,
    ExportError,
    split_control,
)
from accounting.exporters.xero_csv import xero_document
from accounting.gl import SALE
from accounting.models import XeroDocument
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

PER_REQUEST = 50
CONTACT_NAMES_PER_QUERY = 20

Key = tuple[str, int]


def _xero_message(document: Any) -> str:
    errors = getattr(document, "validation_errors", None) or []
    words = "; ".join(error.message for error in errors if getattr(error, "message", None))
    return words or "Xero refused it without saying why."


class DocumentCreator:
    """How a `XeroConnector` creates its documents in Xero."""

    options: dict
    client: XeroClient
    refusals: dict[Key, str]
    _contacts: dict[str, str]

    def _create(
        self, group: list["Posting"], batch: str, refused: dict[Key, int]
    ) -> dict[Key, str]:
        documents: list[tuple[Key, Invoice]] = []
        control: dict[Key, list[list[str]]] = {}
        for posting in group:
            try:
                documents.append((_key(posting), self._invoice(posting)))
            except ExportError as error:
                self.refusals[_key(posting)] = error.message
            else:
                control[_key(posting)] = control_lines(posting)
        if not documents:
            return {}
        self._find_contacts([invoice.contact.name for _, invoice in documents])
        for _, invoice in documents:
            invoice.contact = _writable(
                Contact(contact_id=self._contacts[invoice.contact.name.casefold()])
            )
        answer = self.client.call(
            self.client.accounting.create_invoices,
            Invoices(invoices=[invoice for _, invoice in documents]),
            summarize_errors=False,
            idempotency_key=_idempotency_key(
                "create", batch, [(*key, refused.get(key, 0)) for key, _ in documents]
            ),
        )
        created: dict[Key, str] = {}
        for (key, _), document in zip(documents, answer.invoices or [], strict=True):
            if document.has_errors or document.validation_errors or not document.invoice_id:
                self.refusals[key] = f"Xero refused it: {_xero_message(document)}"
            else:
                created[key] = str(document.invoice_id)
        rows = [
            XeroDocument(
                record_type=key[0],
                record_id=key[1],
                batch_identifier=batch,
                invoice_id=created.get(key, ""),
                control_lines=control[key],
                refusals=0 if key in created else refused.get(key, 0) + 1,
            )
            for key, _ in documents
        ]
        with transaction.atomic():
            XeroDocument.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["record_type", "record_id", "batch_identifier"],
                update_fields=["invoice_id", "control_lines", "refusals"],
            )
        return created

    def _invoice(self, posting: "Posting") -> Invoice:
        document = xero_document(posting)
        tax_type = self.options["xero_tax_types"].get(
            posting.header.tax_code, self.options["xero_api_tax_type"]
        )
        if not document.contact:
            raise ExportError(
                f"{posting.header.reference} has no company (or employee) name, which a "
                "Xero contact needs.",
                posting=posting,
            )
        fields: dict[str, Any] = {
            "type": document.type,
            "contact": Contact(name=document.contact),
            "invoice_number": document.number,
            "date": document.date,
            "due_date": document.due_date,
            "status": self.options["xero_status"],
            "line_amount_types": LineAmountTypes.EXCLUSIVE,
            "line_items": [
                LineItem(
                    description=line.description,
                    quantity=1.0,
                    unit_amount=float(Decimal(line.unit_amount)),
                    account_code=line.account_code,
                    tax_type=tax_type,
                )
                for line in document.lines
            ],
        }
        if document.type == "ACCREC":  # a bill's reference is its number
            fields["reference"] = document.reference
        if self.options.get("currency"):
            fields["currency_code"] = self.options["currency"]
        return _writable(Invoice(**fields))

    def _find_contacts(self, names: list[str]) -> None:
        missing = list(dict.fromkeys(n for n in names if n.casefold() not in self._contacts))
        for start in range(0, len(missing), CONTACT_NAMES_PER_QUERY):
            part = missing[start : start + CONTACT_NAMES_PER_QUERY]
            where = " OR ".join(f'Name=="{_where_text(name)}"' for name in part)
            found = self.client.call(self.client.accounting.get_contacts, where=where)
            for contact in found.contacts or []:
                self._contacts.setdefault(contact.name.casefold(), str(contact.contact_id))
        to_create = [n for n in missing if n.casefold() not in self._contacts]
        for start in range(0, len(to_create), PER_REQUEST):
            part = to_create[start : start + PER_REQUEST]
            made = self.client.call(
                self.client.accounting.create_contacts,
                Contacts(contacts=[_writable(Contact(name=name)) for name in part]),
                summarize_errors=False,
                idempotency_key=_idempotency_key("contacts", "", [(n, 0) for n in part]),
            )
            for name, contact in zip(part, made.contacts or [], strict=True):
                if contact.contact_id and not contact.has_validation_errors:
                    self._contacts[name.casefold()] = str(contact.contact_id)
                else:
                    raise ApplicationError(
                        f"Xero refused to create the contact {name}: {_xero_message(contact)}",
                        code="package_refused",
                        status_code=502,
                    )


def control_lines(posting: "Posting") -> list[list[str]]:
    """The posting's receivable or payable lines, which Xero posts itself:
    [GL account number, debit minus credit]."""
    types = INVOICE_CONTROL_TYPES if posting.header.document == SALE else BILL_CONTROL_TYPES
    control, _ = split_control(posting, types)
    return [[line.account_number, f"{line.debit - line.credit:.2f}"] for line in control]


def _writable(model: Any) -> Any:
    """The SDK's model without the flags its constructors default to False, which
    Xero's description marks read-only (it answers them; a request does not send them)."""
    for name in ("has_attachments", "has_errors", "has_validation_errors"):
        if name in model.attribute_map:
            setattr(model, f"_{name}", None)
    return model


def _key(posting: "Posting") -> Key:
    return (posting.header.type, posting.header.id)


def _where_text(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _idempotency_key(action: str, batch: str, keys: list[tuple]) -> str:
    """At most 128 characters: the action and a digest of the batch and the records."""
    text = "\n".join([action, batch, *(":".join(map(str, key)) for key in keys)])
    return f"psa-{action}-{hashlib.sha256(text.encode()).hexdigest()}"
