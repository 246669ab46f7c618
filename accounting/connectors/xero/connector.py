"""The Xero connector's interface (see the package's description): send, find,
remove, and test the connection; and the removal of originals, voided or
deleted in Xero, or refused with the reason."""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from xero_python.accounting.models import Invoice, Invoices

from accounting.connectors import RecordPayment, SentRecord
from accounting.connectors.xero.client import XeroClient
from accounting.connectors.xero.documents import (
    PER_REQUEST,
    DocumentCreator,
    Key,
    _idempotency_key,
    _key,
    _writable,
    _xero_message,
)
from accounting.models import XeroDocument
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

REMOVABLE = {"AUTHORISED": "VOIDED", "DRAFT": "DELETED", "SUBMITTED": "DELETED"}
GONE = ("VOIDED", "DELETED")


def _not_read_back(what: str) -> ApplicationError:
    return ApplicationError(
        f"{what} does not read Xero yet: it reads beancount ledgers and GnuCash books. "
        "Check Xero's invoices and bills in Xero itself meanwhile.",
        code="no_connector",
        status_code=400,
    )


class XeroConnector(DocumentCreator):
    def __init__(self, *, options: dict, client: XeroClient | None = None) -> None:
        self.options = options
        self.client = client or XeroClient()
        # (type, id) -> why the record was not sent or its original not removed.
        self.refusals: dict[Key, str] = {}
        self._contacts: dict[str, str] = {}  # name (casefolded) -> ContactID

    @property
    def on_wait(self) -> Callable[[datetime | None], None]:
        return self.client.on_wait

    @on_wait.setter
    def on_wait(self, report: Callable[[datetime | None], None]) -> None:
        self.client.on_wait = report

    # The interface ------------------------------------------------------------------

    def send(
        self,
        postings: Iterable["Posting"],
        *,
        batch_identifier: str,
        replacing: Iterable[tuple[str, int, str]] = (),
    ) -> dict[Key, str]:
        replacing = list(replacing)
        if replacing:  # the originals go first: voided, deleted, or refused with the reason
            self.remove_sent(replacing)
        postings = [p for p in postings if _key(p) not in self.refusals]
        answered: dict[Key, str] = {}
        keys = [(p.header.type, p.header.id) for p in postings]
        refused: dict[Key, int] = {}
        for row in XeroDocument.objects.filter(
            batch_identifier=batch_identifier,
            record_id__in={record_id for _, record_id in keys},
        ).values("record_type", "record_id", "invoice_id", "refusals"):
            key = (row["record_type"], row["record_id"])
            if row["invoice_id"]:
                answered[key] = row["invoice_id"]
            else:
                refused[key] = row["refusals"]
        # Fixed groups of the batch's records (a transfer hands them over in chunks of
        # a multiple of 50): a retried transfer makes the same requests again.
        for start in range(0, len(postings), PER_REQUEST):
            group = [p for p in postings[start : start + PER_REQUEST] if _key(p) not in answered]
            if group:
                answered.update(self._create(group, batch_identifier, refused))
        return {key: answered[key] for key in keys if key in answered}

    def find(self, *, record_type: str, record_id: int) -> list[SentRecord]:
        return [
            SentRecord(record_type, record_id, invoice_id)
            for invoice_id in XeroDocument.objects.filter(
                record_type=record_type, record_id=record_id, removed_at__isnull=True
            )
            .exclude(invoice_id="")
            .values_list("invoice_id", flat=True)
        ]

    def remove(
        self, *, record_type: str, record_id: int, batch_identifier: str | None = None
    ) -> int:
        documents = XeroDocument.objects.filter(
            record_type=record_type, record_id=record_id, removed_at__isnull=True
        ).exclude(invoice_id="")
        if batch_identifier is not None:
            documents = documents.filter(batch_identifier=batch_identifier)
        return len(self._remove(list(documents)))

    def find_sent(self) -> Iterator[SentRecord]:
        raise _not_read_back("The books check")

    def find_payments(self) -> Iterator[RecordPayment]:
        raise _not_read_back("Bringing payments back")

    def remove_sent(self, sends: Iterable[tuple[str, int, str]]) -> int:
        wanted = {(t, int(i), b) for t, i, b in sends}
        if not wanted:
            return 0
        documents = [
            document
            for document in XeroDocument.objects.filter(
                record_id__in={i for _, i, _ in wanted}, removed_at__isnull=True
            ).exclude(invoice_id="")
            if (document.record_type, document.record_id, document.batch_identifier) in wanted
        ]
        return len(self._remove(documents))

    def remove_except(
        self, records: Iterable[tuple[str, int]], *, keep_batch: str
    ) -> list[SentRecord]:
        wanted = set(records)
        if not wanted:
            return []
        documents = [
            document
            for document in XeroDocument.objects.filter(
                record_id__in={i for _, i in wanted}, removed_at__isnull=True
            )
            .exclude(batch_identifier=keep_batch)
            .exclude(invoice_id="")
            if (document.record_type, document.record_id) in wanted
        ]
        return [
            SentRecord(d.record_type, d.record_id, d.invoice_id) for d in self._remove(documents)
        ]

    def test_connection(self, gl_accounts: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The organisation's name, when Xero answers the stored connection. The GL
        accounts are not looked up in Xero's chart: a line to a code Xero lacks is
        refused per document, with Xero's message, when it is sent."""
        name = self.client.organisation_name()
        return {
            "ok": True,
            "message": f"Connected to the Xero organisation {name}.",
            "found": {"organisation": name},
            "problems": [],
        }

    # Creating -------------------------------------------------------------------------

    # Removing -------------------------------------------------------------------------

    def _remove(self, documents: list[XeroDocument]) -> list[XeroDocument]:
        """Void or delete the documents in Xero; answer those gone from it now. A
        document with payments is kept, and its record refused with the reason."""
        removed: list[XeroDocument] = []
        for start in range(0, len(documents), PER_REQUEST):
            part = documents[start : start + PER_REQUEST]
            found = self.client.call(
                self.client.accounting.get_invoices,
                i_ds=[d.invoice_id for d in part],
                page_size=PER_REQUEST,
            )
            by_id = {str(invoice.invoice_id): invoice for invoice in found.invoices or []}
            changes: list[tuple[XeroDocument, str]] = []
            for document in part:
                invoice = by_id.get(document.invoice_id)
                status = _status(invoice)
                key = (document.record_type, document.record_id)
                if invoice is None or status in GONE:
                    removal = "voided" if status == "VOIDED" else "deleted"
                    self._mark_removed([(document, removal)])
                    removed.append(document)
                elif (invoice.amount_paid or 0) or invoice.payments:
                    self.refusals[key] = (
                        f"Xero's {invoice.invoice_number or 'document'} has payments "
                        f"({invoice.amount_paid or 0:.2f} paid), so it is not voided and the "
                        "record is not sent again; remove the payments in Xero, then retry "
                        "the transfer."
                    )
                elif status in REMOVABLE:
                    changes.append((document, REMOVABLE[status]))
                else:
                    self.refusals[key] = (
                        f"Xero's {invoice.invoice_number or 'document'} is {status}, which "
                        "cannot be voided or deleted; the record is not sent again."
                    )
            if changes:
                removed.extend(self._change_status(changes))
        return removed

    def _change_status(self, changes: list[tuple[XeroDocument, str]]) -> list[XeroDocument]:
        answer = self.client.call(
            self.client.accounting.update_or_create_invoices,
            Invoices(
                invoices=[
                    _writable(Invoice(invoice_id=d.invoice_id, status=new)) for d, new in changes
                ]
            ),
            summarize_errors=False,
            idempotency_key=_idempotency_key("remove", "", [(d.invoice_id, 0) for d, _ in changes]),
        )
        done: list[tuple[XeroDocument, str]] = []
        for (document, new), invoice in zip(changes, answer.invoices or [], strict=True):
            if invoice.has_errors or invoice.validation_errors:
                self.refusals[(document.record_type, document.record_id)] = (
                    f"Xero did not remove the original: {_xero_message(invoice)}"
                )
            else:
                done.append((document, "voided" if new == "VOIDED" else "deleted"))
        self._mark_removed(done)
        return [document for document, _ in done]

    @staticmethod
    def _mark_removed(done: list[tuple[XeroDocument, str]]) -> None:
        now = timezone.now()
        for document, removal in done:
            document.removed_at, document.removal = now, removal
        XeroDocument.objects.bulk_update([d for d, _ in done], ["removed_at", "removal"])


def _status(invoice: Any) -> str:
    status = getattr(invoice, "status", None)
    return getattr(status, "value", status) or ""
