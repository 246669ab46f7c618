"""The Xero connector's interface (see the package's description): send, find,
remove, and test the connection; and the removal of originals, voided or
deleted in Xero, or refused with the reason."""

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
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

if TYPE_CHECKING:
    from accounting.gl import Posting

REMOVABLE = {"AUTHORISED": "VOIDED", "DRAFT": "DELETED", "SUBMITTED": "DELETED"}
GONE = ("VOIDED", "DELETED")


# What the books check reads: the documents this app created that Xero still holds
# (a voided or deleted one is gone), a page of READ_PAGE at a time.
HELD = ["DRAFT", "SUBMITTED", "AUTHORISED", "PAID"]
READ_PAGE = 1000
CENT = Decimal("0.01")
ID_LOOKUP = 5000


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
        # Each record once (the first of its postings), unless refused above.
        unique: dict[Key, Posting] = {}
        for posting in postings:
            if _key(posting) not in self.refusals:
                unique.setdefault(_key(posting), posting)
        postings = list(unique.values())
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
        for document, invoice in self._held():
            yield SentRecord(
                document.record_type,
                document.record_id,
                document.invoice_id,
                batch_identifier=document.batch_identifier,
                date=_day(invoice.date),
                lines=_lines(document, invoice),
            )

    def find_payments(self) -> Iterator[RecordPayment]:
        paid: dict[Key, tuple[Decimal, date]] = {}
        for document, invoice in self._held():
            amount = _money(invoice.amount_paid)
            if _type(invoice) != "ACCREC" or amount <= 0:
                continue
            days = [day for p in invoice.payments or [] if (day := _day(p.date))]
            last = max(days, default=None) or _day(invoice.fully_paid_on_date)
            if last is None:
                continue
            key = (document.record_type, document.record_id)
            before = paid.get(key)
            paid[key] = (before[0] + amount, max(before[1], last)) if before else (amount, last)
        for (record_type, record_id), (amount, last) in paid.items():
            yield RecordPayment(record_type, record_id, amount, last)

    def _held(self) -> list[tuple[XeroDocument, Any]]:
        """What Xero holds of the documents this app created, each beside the row that
        says which record and batch it is, in the order of (type, id, batch). Xero is
        read whole first (pages of READ_PAGE); a document this app created that no row
        names is not the PSA's to judge and is left out."""
        invoices: dict[str, Any] = {}
        page = 1
        while True:
            found = self.client.call(
                self.client.accounting.get_invoices,
                statuses=HELD,
                created_by_my_app=True,
                page=page,
                page_size=READ_PAGE,
            )
            for invoice in found.invoices or []:
                invoices[str(invoice.invoice_id)] = invoice
            if len(found.invoices or []) < READ_PAGE:
                break
            page += 1
        ids = list(invoices)
        held = []
        for start in range(0, len(ids), ID_LOOKUP):
            for document in XeroDocument.objects.filter(
                invoice_id__in=ids[start : start + ID_LOOKUP]
            ):
                held.append((document, invoices[document.invoice_id]))
        held.sort(
            key=lambda pair: (pair[0].record_type, pair[0].record_id, pair[0].batch_identifier)
        )
        return held

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


def _type(invoice: Any) -> str:
    kind = getattr(invoice, "type", None)
    return getattr(kind, "value", kind) or ""


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _lines(document: XeroDocument, invoice: Any) -> tuple[tuple[str, Decimal], ...] | None:
    """The document as the GL lines sent: each line's account and amount (a sales
    invoice's lines are credits, a bill's debits), and the receivable or payable line
    Xero posts for its total, on the PSA's account (kept when it was sent)."""
    if not document.control_lines:
        return None  # sent before the control lines were kept: compared by date only
    sign = Decimal(-1) if _type(invoice) == "ACCREC" else Decimal(1)
    lines = [
        (str(item.account_code or ""), _money(item.line_amount) * sign)
        for item in invoice.line_items or []
    ]
    total = -sign * _money(invoice.total)
    control = [(str(number), Decimal(amount)) for number, amount in document.control_lines]
    if sum((amount for _, amount in control), Decimal(0)) != total:
        control = [(control[0][0], total)]
    return tuple(sorted(lines + control))


def _status(invoice: Any) -> str:
    status = getattr(invoice, "status", None)
    return getattr(status, "value", status) or ""
