"""Direct transfer into Xero through its Accounting API, with Xero's own SDK
(`xero-python`).

What it sends
- An invoice as a sales invoice (ACCREC), an expense, freight or product as a bill
  (ACCPAY), one document per record, made by `accounting.exporters.xero_csv.
  xero_document`: the contact, number, reference (sales invoices only), dates, lines,
  amounts and account codes the Xero CSV export writes. Tax type per line: the setup's
  `xero_tax_types` mapping of the record's PSA tax code, else `xero_api_tax_type`; the
  status: `xero_status` (AUTHORISED or DRAFT).
- Contacts are found by name (one query for the names a request needs) and created when
  missing, once per transfer.
- Up to 50 documents a request (`summarizeErrors=false`): a document Xero refuses is
  answered in `refusals` with Xero's words, and the rest goes in.

Never twice
- Each create request carries an `Idempotency-Key` made of the batch and the records of
  the request, taken from fixed groups of 50 of the batch's records, so that a
  retried transfer sends the same request for what it had not recorded yet and Xero
  answers the first result. What Xero created is recorded at once (`XeroDocument`):
  `find` and `remove` answer from it, and a record already created for a batch is not
  sent again.

Limits
- At most XERO_CALLS_A_MINUTE calls in XERO_MINUTE_SECONDS and XERO_CALLS_IN_FLIGHT at
  once per organisation, from this process; past Xero's own limits (other processes,
  the day limit) a 429 is waited out for its `Retry-After` and the call repeated (with
  the same Idempotency-Key). While it waits, `on_wait(until)` is told, which shows the
  batch as waiting. A wait longer than XERO_MAX_WAIT_SECONDS stops the transfer with
  the time to retry it.

Re-send
- An original is voided (AUTHORISED, nothing paid) or deleted (DRAFT, SUBMITTED) in
  one request for many; an original with payments is left as it is, and its record is
  refused with the reason (`refusals`).

Secrets (the client secret, the refresh token) come from `XeroConnection`, decrypted
only to be sent to Xero; they are never logged, and errors never quote them.
"""

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import (
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import ApiException, RateLimitException
from xero_python.identity import IdentityApi

from accounting.connectors import RecordPayment, SentRecord
from accounting.exporters.base import ExportError
from accounting.exporters.xero_csv import xero_document
from accounting.models import XeroConnection, XeroDocument
from accounting.secrets import decrypt, encrypt
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

logger = logging.getLogger(__name__)

PER_REQUEST = 50
CONTACT_NAMES_PER_QUERY = 20
SCOPES = "accounting.transactions accounting.contacts accounting.settings.read offline_access"
REMOVABLE = {"AUTHORISED": "VOIDED", "DRAFT": "DELETED", "SUBMITTED": "DELETED"}
GONE = ("VOIDED", "DELETED")

Key = tuple[str, int]


def _unreachable(error: Exception) -> ApplicationError:
    return ApplicationError(
        f"Xero could not be reached ({type(error).__name__}); retry the transfer: what "
        "Xero has already is not sent twice.",
        code="package_unreachable",
        status_code=502,
    )


class _Limits:
    """One organisation's limits as this process keeps them: calls in the last minute
    and calls in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: deque[float] = deque()
        self.in_flight = threading.BoundedSemaphore(settings.XERO_CALLS_IN_FLIGHT)

    def wait_turn(self, on_wait: Callable[[datetime | None], None]) -> bool:
        """Takes a call's place in the minute; answers whether it had to wait."""
        waited = False
        while True:
            with self.lock:
                now = time.monotonic()
                window = settings.XERO_MINUTE_SECONDS
                while self.calls and self.calls[0] <= now - window:
                    self.calls.popleft()
                if len(self.calls) < settings.XERO_CALLS_A_MINUTE:
                    self.calls.append(now)
                    return waited
                pause = self.calls[0] + window - now
            waited = True
            on_wait(timezone.now() + timedelta(seconds=pause))
            time.sleep(pause)


_limits: dict[str, _Limits] = {}
_limits_lock = threading.Lock()


def limits_of(tenant: str) -> _Limits:
    with _limits_lock:
        return _limits.setdefault(tenant, _Limits())


class _Token(OAuth2Token):
    """The SDK's token, sent to the identity server the settings name."""

    def _token_api(self, api_client) -> TokenApi:
        api = TokenApi(api_client, self.client_id, self.client_secret)
        url = settings.XERO_IDENTITY_URL.rstrip("/")
        api.client_credentials_token_url = api.refresh_token_url = f"{url}/connect/token"
        api.revoke_token_url = f"{url}/connect/revocation"
        return api

    def get_client_credentials_access_token(self, api_client, app_store_billing=False):
        new_token = self._token_api(api_client).get_client_credentials_token(app_store_billing)
        self.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        return True

    def refresh_access_token(self, api_client):
        if not self.can_refresh_access_token():
            return False
        new_token = self.fetch_access_token(self._token_api(api_client))
        self.update_token(**new_token)
        api_client.set_oauth2_token(new_token)
        return True


class XeroClient:
    """The SDK's client for the organisation of the stored connection: tokens (the
    client-credentials grant, or the refresh token, which rotates and is stored again
    at once), the tenant, and every call under the organisation's limits."""

    def __init__(self, connection: XeroConnection | None = None) -> None:
        found = connection or XeroConnection.objects.filter(pk=1).first()
        if found is None or not found.client_id:
            raise ApplicationError(
                "Xero is not connected: enter the client id and secret of the PSA's Xero "
                'app in the accounting package setup (README, "How to connect Xero").',
                code="validation_error",
                status_code=400,
            )
        self.connection: XeroConnection = found
        self.on_wait: Callable[[datetime | None], None] = lambda until: None
        self._waited = False
        self._token: dict[str, Any] = {}
        self.oauth2 = _Token(
            client_id=self.connection.client_id,
            client_secret=decrypt(self.connection.client_secret),
        )
        self.api_client = ApiClient(
            Configuration(oauth2_token=self.oauth2),
            oauth2_token_getter=lambda: self._token,
            oauth2_token_saver=self._save_token,
            pool_threads=1,
        )
        # A 429 is the connector's to wait out (and report): urllib3 would sleep through
        # Retry-After by itself, for as long as Xero says, however long that is.
        self.api_client.rest_client.pool_manager.connection_pool_kw["retries"] = urllib3.Retry(
            total=2, read=0, status=0, redirect=0, respect_retry_after_header=False
        )
        self.accounting = AccountingApi(self.api_client, base_url=settings.XERO_API_URL)
        self.identity = IdentityApi(self.api_client, base_url=settings.XERO_CONNECTIONS_API_URL)

    # Tokens and tenant ---------------------------------------------------------------

    def _save_token(self, token: dict[str, Any]) -> None:
        self._token = dict(token)
        if self.connection.auth == XeroConnection.OAUTH and token.get("refresh_token"):
            # Xero's refresh tokens rotate: the old one is spent, so the new one is
            # stored before anything else happens.
            self.connection.refresh_token = encrypt(token["refresh_token"])
            XeroConnection.objects.filter(pk=self.connection.pk).update(
                refresh_token=self.connection.refresh_token, updated_at=timezone.now()
            )

    def _authorise(self) -> None:
        expires_at = self._token.get("expires_at")
        if self._token and (expires_at is None or expires_at > time.time() + 60):
            return
        try:
            if self.connection.auth == XeroConnection.OAUTH:
                refresh = decrypt(self.connection.refresh_token)
                if not refresh:
                    raise _not_authorised()
                self.oauth2.update_token(
                    access_token=None,
                    scope=SCOPES.split(),
                    expires_in=0,
                    token_type="Bearer",
                    expires_at=0,
                    refresh_token=refresh,
                )
                self.oauth2.refresh_access_token(self.api_client)
            else:
                self.oauth2.get_client_credentials_access_token(self.api_client)
        except ApplicationError:
            raise
        except urllib3.exceptions.HTTPError as error:
            raise _unreachable(error) from None
        except Exception:
            # The SDK's error quotes Xero's answer; Xero refused the credentials.
            raise _not_authorised() from None

    @property
    def tenant(self) -> str:
        if not self.connection.tenant_id:
            tenants = self.connections()
            if not tenants:
                raise _not_authorised()
            # A custom connection reaches exactly one organisation.
            self.connection.tenant_id = tenants[0]["tenant_id"]
            XeroConnection.objects.filter(pk=self.connection.pk).update(
                tenant_id=self.connection.tenant_id
            )
        return self.connection.tenant_id

    def connections(self) -> list[dict[str, str]]:
        """The organisations the token reaches: tenant id and name."""
        found = self.call(self.identity.get_connections, tenant=False)
        return [
            {"tenant_id": str(item.tenant_id), "name": item.tenant_name or ""}
            for item in found
            if (item.tenant_type or "ORGANISATION") == "ORGANISATION"
        ]

    def organisation_name(self) -> str:
        found = self.call(self.accounting.get_organisations)
        return found.organisations[0].name if found.organisations else ""

    # Calls ----------------------------------------------------------------------------

    def call(self, method: Callable, *args: Any, tenant: bool = True, **kwargs: Any) -> Any:
        """One call of the SDK, under the organisation's limits; a 429 is waited out
        for its Retry-After and the same call made again."""
        self._authorise()
        if tenant:
            args = (self.tenant, *args)
        limits = limits_of(self.connection.tenant_id or "-")
        while True:
            self._waited = limits.wait_turn(self.on_wait) or self._waited
            try:
                with limits.in_flight:
                    return method(*args, **kwargs)
            except RateLimitException as error:
                self._wait_out(error)
            except ApiException as error:
                if error.status == 401:
                    self._token = {}
                    raise _not_authorised() from None
                raise
            except urllib3.exceptions.HTTPError as error:
                raise _unreachable(error) from None
            finally:
                if self._waited:
                    self._waited = False
                    self.on_wait(None)

    def _wait_out(self, error: RateLimitException) -> None:
        headers = error.headers or {}
        try:
            seconds = max(float(headers.get("Retry-After", "60")), 0.0)
        except ValueError:
            seconds = 60.0
        problem = headers.get("X-Rate-Limit-Problem", "minute")
        until = timezone.now() + timedelta(seconds=seconds)
        if seconds > settings.XERO_MAX_WAIT_SECONDS:
            raise ApplicationError(
                f"Xero's {problem} limit of calls is reached until "
                f"{timezone.localtime(until):%d %b %Y %H:%M}; retry the transfer then: what "
                "Xero has already is not sent twice.",
                code="package_rate_limited",
                status_code=429,
            )
        logger.info("Xero's %s limit: waiting %.1f s", problem, seconds)
        self._waited = True
        self.on_wait(until)
        time.sleep(seconds)


def _not_authorised() -> ApplicationError:
    return ApplicationError(
        "Xero did not accept the PSA's connection (the client id or secret is wrong, or "
        "the access was revoked); connect Xero again in the accounting package setup.",
        code="package_not_authorised",
        status_code=502,
    )


def _xero_message(document: Any) -> str:
    errors = getattr(document, "validation_errors", None) or []
    words = "; ".join(error.message for error in errors if getattr(error, "message", None))
    return words or "Xero refused it without saying why."


def _not_read_back(what: str) -> ApplicationError:
    return ApplicationError(
        f"{what} does not read Xero yet: it reads beancount ledgers and GnuCash books. "
        "Check Xero's invoices and bills in Xero itself meanwhile.",
        code="no_connector",
        status_code=400,
    )


class XeroConnector:
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

    def _create(
        self, group: list["Posting"], batch: str, refused: dict[Key, int]
    ) -> dict[Key, str]:
        documents: list[tuple[Key, Invoice]] = []
        for posting in group:
            try:
                documents.append((_key(posting), self._invoice(posting)))
            except ExportError as error:
                self.refusals[_key(posting)] = error.message
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
                refusals=0 if key in created else refused.get(key, 0) + 1,
            )
            for key, _ in documents
        ]
        with transaction.atomic():
            XeroDocument.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["record_type", "record_id", "batch_identifier"],
                update_fields=["invoice_id", "refusals"],
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


def _writable(model: Any) -> Any:
    """The SDK's model without the flags its constructors default to False, which
    Xero's description marks read-only (it answers them; a request does not send them)."""
    for name in ("has_attachments", "has_errors", "has_validation_errors"):
        if name in model.attribute_map:
            setattr(model, f"_{name}", None)
    return model


def _key(posting: "Posting") -> Key:
    return (posting.header.type, posting.header.id)


def _status(invoice: Any) -> str:
    status = getattr(invoice, "status", None)
    return getattr(status, "value", status) or ""


def _where_text(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _idempotency_key(action: str, batch: str, keys: list[tuple]) -> str:
    """At most 128 characters: the action and a digest of the batch and the records."""
    text = "\n".join([action, batch, *(":".join(map(str, key)) for key in keys)])
    return f"psa-{action}-{hashlib.sha256(text.encode()).hexdigest()}"
