"""A local server on 127.0.0.1 that plays Xero for the calls the Xero connector makes:
the sign-in of the OAuth 2.0 code flow (consent granted at once: back to the
redirect URI with a code, or `refuse_consent`), the identity server's token endpoint
(client credentials, authorisation code, refresh tokens that rotate) and connections
(`tenants`), and the Accounting API's
Invoices (GET, PUT, POST), Contacts (GET, PUT) and Organisation (GET).

Every Accounting API request it receives and every response it gives is validated
against Xero's published OpenAPI description (tests/contracts/xero, as Xero publishes
it) with openapi-core; what does not conform is kept
in `violations`, which the tests' fixture requires to be empty.

It behaves like Xero where the connector relies on it:
- Idempotency-Key: a repeated key answers the first response, without doing anything.
- 60 calls a minute (the window is `minute_seconds`, short in tests), 5 in flight and
  a day limit per organisation: past them, 429 with Retry-After and
  X-Rate-Limit-Problem, and the X-*Limit-Remaining headers on every answer.
- summarizeErrors=false: 200 with each document's ValidationErrors; an unknown account
  code or tax type, a line without a description, a missing contact are refused.
- Void and delete: AUTHORISED without payments can be VOIDED, DRAFT and SUBMITTED
  DELETED; a document with payments cannot be voided.
- Reading invoices: IDs, Statuses, createdByMyApp (`copy_by_hand` makes one that is
  not the app's), page and pageSize; payments entered with `pay` are in the answer.
- `hold_after_create`: the Nth create request is carried out, then its answer is held
  until `release` (a test kills the worker meanwhile).
"""

import json
import math
import re
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import free_port

SPEC_PATH = Path(__file__).resolve().parents[1] / "contracts" / "xero" / "xero_accounting.yaml"
API_PREFIX = "/api.xro/2.0"
AUTHORISE_PATH = "/identity/connect/authorize"
XERO_HOST = "https://api.xero.com"
TENANT_ID = "8b1ef3a1-32b1-4c2c-9a0e-5f4c5c0f2d11"
ORGANISATION = "Demo Company (NZ)"

_spec: OpenAPI | None = None
_spec_lock = threading.Lock()


def spec() -> OpenAPI:
    """Xero's description, loaded once (about a second). It does not pass a strict
    OpenAPI check itself (string defaults of booleans), so it is not validated."""
    global _spec
    with _spec_lock:
        if _spec is None:
            _spec = OpenAPI.from_file_path(str(SPEC_PATH), config=Config(spec_validator_cls=None))
        return _spec


class _AsXero(WerkzeugOpenAPIRequest):
    """The request as sent to Xero's own server (the description's server URL)."""

    @property
    def host_url(self) -> str:
        return XERO_HOST

    @property
    def path(self) -> str:
        return self.request.path


def msdate(value: date) -> str:
    moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def parse_msdate(text: str) -> date | None:
    match = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", text or "")
    if match:
        return datetime.fromtimestamp(int(match[1]) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return None


class FakeXero:
    def __init__(
        self,
        *,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        minute_limit: int = 60,
        minute_seconds: float = 60.0,
        day_limit: int = 5000,
        accounts: set[str] | None = None,
        tax_types: frozenset[str] = frozenset({"NONE", "EXEMPTOUTPUT", "EXEMPTEXPENSES"}),
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.minute_limit, self.minute_seconds, self.day_limit = (
            minute_limit,
            minute_seconds,
            day_limit,
        )
        self.accounts = accounts
        self.tax_types = tax_types
        self.lock = threading.RLock()
        self.invoices: dict[str, dict] = {}  # InvoiceID -> the invoice as Xero shows it
        self.contacts: dict[str, dict] = {}
        self.by_hand: set[str] = set()  # InvoiceIDs made in Xero, not by this app
        self.idempotent: dict[str, tuple[int, bytes]] = {}
        self.access_tokens: dict[str, float] = {}  # token -> expires at
        self.refresh_tokens: set[str] = set()  # live ones (each is spent when used)
        self.codes: dict[str, str] = {}  # authorisation code -> redirect uri
        self.authorisations: list[dict] = []  # the sign-ins' query strings
        self.refuse_consent = False  # the user declines at Xero's consent screen
        self.tenants: dict[str, str] = {TENANT_ID: ORGANISATION}  # tenant id -> its name
        self.calls: list[float] = []
        self.day_calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay = 0.0  # seconds each Accounting API call takes
        self.requests: list[tuple[str, str, dict]] = []  # method, path, query
        self.rate_limited = 0
        self.violations: list[str] = []
        self.create_requests = 0
        self.hold_after_create: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Running -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "FakeXero":
        spec()  # loaded before the first call, which Xero counts when it arrives
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def settings_env(self) -> dict[str, str]:
        """The server's settings that point the PSA at this server."""
        return {
            "XERO_API_URL": self.url + API_PREFIX,
            "XERO_IDENTITY_URL": self.url,
            "XERO_CONNECTIONS_API_URL": self.url,
            "XERO_AUTHORISE_URL": self.url + AUTHORISE_PATH,
        }

    # For tests ------------------------------------------------------------------------

    def live(self) -> list[dict]:
        return [i for i in self.invoices.values() if i["Status"] not in ("VOIDED", "DELETED")]

    def pay(self, invoice_id: str, amount: float, on: date | None = None) -> None:
        """A payment entered in Xero against the document (on `on`, else today)."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            invoice["Payments"].append(
                {
                    "PaymentID": str(uuid.uuid4()),
                    "Date": msdate(on or date.today()),
                    "Amount": amount,
                }
            )
            invoice["AmountPaid"] = round(invoice["AmountPaid"] + amount, 2)
            invoice["AmountDue"] = round(invoice["Total"] - invoice["AmountPaid"], 2)
            if invoice["AmountDue"] <= 0:
                invoice["Status"] = "PAID"
                invoice["FullyPaidOnDate"] = msdate(on or date.today())

    def copy_by_hand(self, invoice_id: str) -> str:
        """A copy of the document someone made in Xero itself (not by this app)."""
        with self.lock:
            copy = {
                **json.loads(json.dumps(self.invoices[invoice_id])),
                "InvoiceID": str(uuid.uuid4()),
            }
            self.invoices[copy["InvoiceID"]] = copy
            self.by_hand.add(copy["InvoiceID"])
            return copy["InvoiceID"]

    def add_contact(self, name: str) -> str:
        contact_id = str(uuid.uuid4())
        self.contacts[contact_id] = {
            "ContactID": contact_id,
            "Name": name,
            "ContactStatus": "ACTIVE",
        }
        return contact_id

    def issue_code(self, redirect_uri: str) -> str:
        code = uuid.uuid4().hex
        self.codes[code] = redirect_uri
        return code

    # The application -----------------------------------------------------------------

    def app(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == "/connect/token":
            return self.token(request)
        if path == AUTHORISE_PATH:
            return self.authorise(request)
        if path.lower() == "/connections":
            if not self.authorised(request):
                return self.json({"Title": "Unauthorized"}, 401)
            return self.json(
                [
                    {
                        "id": str(uuid.uuid4()),
                        "tenantId": tenant_id,
                        "tenantType": "ORGANISATION",
                        "tenantName": name,
                    }
                    for tenant_id, name in self.tenants.items()
                ]
            )
        if not path.startswith(API_PREFIX):
            return self.json({"Title": "Not found"}, 404)
        self.validate_request(request)
        response = self.accounting(request)
        self.validate_response(request, response)
        return response

    def validate_request(self, request: Request) -> None:
        try:
            spec().validate_request(_AsXero(request))
        except Exception as error:  # any way of not conforming
            self.violations.append(f"request {request.method} {request.path}: {_why(error)}")

    def validate_response(self, request: Request, response: Response) -> None:
        if response.status_code in (401, 429):  # Xero's description has no body for them
            return
        try:
            spec().validate_response(_AsXero(request), WerkzeugOpenAPIResponse(response))
        except Exception as error:
            self.violations.append(f"response {request.method} {request.path}: {_why(error)}")

    def authorise(self, request: Request) -> Response:
        """Xero's sign-in and consent, granted at once: back to the redirect URI with a
        code and the state, as Xero answers once the user allows access."""
        args = request.args
        self.authorisations.append(dict(args))
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return Response("unauthorized_client", status=400)
        redirect_uri = args.get("redirect_uri", "")
        answer = {"code": self.issue_code(redirect_uri), "state": args.get("state", "")}
        if self.refuse_consent:
            answer = {"error": "access_denied", "state": args.get("state", "")}
        response = Response(status=302)
        response.headers["Location"] = f"{redirect_uri}?{urlencode(answer)}"
        return response

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        return self.access_tokens.get(token, 0) > time.time()

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return self.json({"error": "invalid_client"}, 400)
        grant = form.get("grant_type")
        refresh = None
        with self.lock:
            if grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return self.json({"error": "invalid_grant"}, 400)
                self.refresh_tokens.discard(form["refresh_token"])  # it rotates
                refresh = uuid.uuid4().hex
            elif grant == "authorization_code":
                if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                    return self.json({"error": "invalid_grant"}, 400)
                refresh = uuid.uuid4().hex
            elif grant != "client_credentials":
                return self.json({"error": "unsupported_grant_type"}, 400)
            access = uuid.uuid4().hex
            self.access_tokens[access] = time.time() + 1800
            body = {
                "access_token": access,
                "expires_in": 1800,
                "token_type": "Bearer",
                "scope": "accounting.transactions accounting.contacts",
            }
            if refresh:
                self.refresh_tokens.add(refresh)
                body["refresh_token"] = refresh
        return self.json(body)

    def limit(self) -> Response | None:
        """Xero's limits per organisation: 429 past them (the call is not carried out)."""
        with self.lock:
            now = time.monotonic()
            self.calls = [t for t in self.calls if t > now - self.minute_seconds]
            problem, retry = None, 0
            if self.day_calls >= self.day_limit:
                problem, retry = "day", 86400
            elif len(self.calls) >= self.minute_limit:
                problem = "minute"
                retry = max(1, math.ceil(self.calls[0] + self.minute_seconds - now))
            elif self.in_flight >= 5:
                problem, retry = "concurrent", 1
            if problem:
                self.rate_limited += 1
                response = Response(status=429)
                response.headers["Retry-After"] = str(retry)
                response.headers["X-Rate-Limit-Problem"] = problem
                return response
            self.calls.append(now)
            self.day_calls += 1
            self.in_flight += 1  # taken with the check, so that none slips past it
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            return None

    def accounting(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.json({"Title": "Unauthorized", "Status": 401}, 401)
        if request.headers.get("xero-tenant-id") not in self.tenants:
            return self.json({"Title": "Forbidden", "Status": 403}, 403)
        limited = self.limit()
        if limited:
            return limited
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append((request.method, request.path, dict(request.args)))
        try:
            if self.delay:
                time.sleep(self.delay)
            if key and key in self.idempotent:
                status, body = self.idempotent[key]
                return self.with_limits(
                    Response(body, status=status, content_type="application/json")
                )
            response = self.route(request)
            if key and request.method in ("POST", "PUT") and response.status_code < 500:
                self.idempotent[key] = (response.status_code, response.get_data())
            if request.method == "PUT" and request.path == API_PREFIX + "/Invoices":
                self.create_requests += 1
                if self.create_requests == self.hold_after_create:
                    self.held.set()
                    self.release.wait(timeout=120)
            return self.with_limits(response)
        finally:
            with self.lock:
                self.in_flight -= 1

    def with_limits(self, response: Response) -> Response:
        response.headers["X-DayLimit-Remaining"] = str(max(self.day_limit - self.day_calls, 0))
        response.headers["X-MinLimit-Remaining"] = str(max(self.minute_limit - len(self.calls), 0))
        response.headers["X-AppMinLimit-Remaining"] = "9999"
        return response

    def route(self, request: Request) -> Response:
        resource = request.path.removeprefix(API_PREFIX)
        method = request.method
        if resource == "/Organisation" and method == "GET":
            return self.json(
                {
                    "Organisations": [
                        {
                            "OrganisationID": request.headers["xero-tenant-id"],
                            "Name": self.tenants[request.headers["xero-tenant-id"]],
                            "BaseCurrency": "NZD",
                        }
                    ]
                }
            )
        if resource == "/Contacts":
            if method == "GET":
                return self.json({"Contacts": self.find_contacts(request.args.get("where", ""))})
            if method == "PUT":
                return self.json({"Contacts": self.put_contacts(request.get_json())})
        if resource == "/Invoices":
            if method == "GET":
                return self.json({"Invoices": self.get_invoices(request.args)})
            if method == "PUT":
                return self.json({"Invoices": self.put_invoices(request.get_json())})
            if method == "POST":
                return self.json({"Invoices": self.post_invoices(request.get_json())})
        return self.json({"Title": "Not found"}, 404)

    # Contacts -------------------------------------------------------------------------

    def find_contacts(self, where: str) -> list[dict]:
        names = {
            name.replace('\\"', '"').replace("\\\\", "\\").casefold()
            for name in re.findall(r'Name=="((?:[^"\\]|\\.)*)"', where)
        }
        return [c for c in self.contacts.values() if c["Name"].casefold() in names]

    def put_contacts(self, body: dict) -> list[dict]:
        answered = []
        with self.lock:
            for contact in body.get("Contacts", []):
                name = (contact.get("Name") or "").strip()
                if not name:
                    answered.append(self.refused(contact, "The contact name must be specified"))
                    continue
                if any(c["Name"].casefold() == name.casefold() for c in self.contacts.values()):
                    answered.append(
                        self.refused(
                            contact,
                            f"The contact name {name} is already assigned to "
                            "another contact. The contact name must be unique "
                            "across all active contacts.",
                        )
                    )
                    continue
                made = {"ContactID": str(uuid.uuid4()), "Name": name, "ContactStatus": "ACTIVE"}
                self.contacts[made["ContactID"]] = made
                answered.append(made)
        return answered

    # Invoices -------------------------------------------------------------------------

    @staticmethod
    def refused(document: dict, *messages: str) -> dict:
        return {
            **{k: v for k, v in document.items() if k in ("Type", "InvoiceNumber", "Name")},
            "HasErrors": True,
            "StatusAttributeString": "ERROR",
            "ValidationErrors": [{"Message": message} for message in messages],
        }

    def put_invoices(self, body: dict) -> list[dict]:
        answered = []
        with self.lock:
            for document in body.get("Invoices", []):
                problems = self.problems(document)
                if problems:
                    answered.append(self.refused(document, *problems))
                    continue
                answered.append(self.make_invoice(document))
        return answered

    def problems(self, document: dict) -> list[str]:
        problems = []
        if document.get("Type") not in ("ACCREC", "ACCPAY"):
            problems.append("Invoice Type must be specified")
        contact = document.get("Contact") or {}
        if contact.get("ContactID") not in self.contacts and not contact.get("Name"):
            problems.append("A Contact must be specified for this type of transaction")
        if not parse_msdate(document.get("Date", "")):
            problems.append("Date must be specified")
        if document.get("Status", "DRAFT") not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            problems.append("Invoice not of valid status for creation")
        lines = document.get("LineItems") or []
        if not lines:
            problems.append("At least one line item must be specified")
        for line in lines:
            if not line.get("Description"):
                problems.append("Description must be specified.")
            code = line.get("AccountCode")
            if self.accounts is not None and code not in self.accounts:
                problems.append(f"Account code '{code}' is not a valid code for this document.")
            if line.get("TaxType") not in self.tax_types:
                problems.append(
                    f"The TaxType code '{line.get('TaxType')}' does not exist or "
                    "cannot be used for this type of transaction."
                )
        return problems

    def make_invoice(self, document: dict) -> dict:
        contact = document["Contact"]
        if contact.get("ContactID") not in self.contacts:
            contact = {"ContactID": str(uuid.uuid4()), "Name": contact["Name"]}
            self.contacts[contact["ContactID"]] = {**contact, "ContactStatus": "ACTIVE"}
        lines = [
            {
                "LineItemID": str(uuid.uuid4()),
                "Description": line["Description"],
                "Quantity": line.get("Quantity", 1),
                "UnitAmount": line["UnitAmount"],
                "AccountCode": line["AccountCode"],
                "TaxType": line["TaxType"],
                "TaxAmount": 0.0,
                "LineAmount": round(line.get("Quantity", 1) * line["UnitAmount"], 2),
            }
            for line in document["LineItems"]
        ]
        total = round(sum(line["LineAmount"] for line in lines), 2)
        invoice = {
            "Type": document["Type"],
            "InvoiceID": str(uuid.uuid4()),
            "InvoiceNumber": document.get("InvoiceNumber", ""),
            "Reference": document.get("Reference", ""),
            "Contact": {
                "ContactID": contact["ContactID"],
                "Name": self.contacts[contact["ContactID"]]["Name"],
            },
            "Date": msdate(parse_msdate(document["Date"])),
            "DueDate": msdate(parse_msdate(document.get("DueDate") or document["Date"])),
            "Status": document.get("Status", "DRAFT"),
            "LineAmountTypes": document.get("LineAmountTypes", "Exclusive"),
            "LineItems": lines,
            "SubTotal": total,
            "TotalTax": 0.0,
            "Total": total,
            "AmountDue": total,
            "AmountPaid": 0.0,
            "Payments": [],
            "CurrencyCode": document.get("CurrencyCode", "NZD"),
            "StatusAttributeString": "OK",
        }
        self.invoices[invoice["InvoiceID"]] = invoice
        return invoice

    def get_invoices(self, args) -> list[dict]:
        """IDs, Statuses and createdByMyApp filter; page (with pageSize, 100 unless
        given) answers one page, in the order the documents were made."""

        def listed(name: str) -> list[str]:
            return [item for item in args.get(name, "").split(",") if item]

        with self.lock:
            found = list(self.invoices.values())
            if ids := listed("IDs"):
                found = [self.invoices[i] for i in ids if i in self.invoices]
            if statuses := listed("Statuses"):
                found = [i for i in found if i["Status"] in statuses]
            elif not ids:  # Xero leaves deleted documents out unless asked for them
                found = [i for i in found if i["Status"] != "DELETED"]
            if args.get("createdByMyApp", "").lower() == "true":
                found = [i for i in found if i["InvoiceID"] not in self.by_hand]
            if "page" in args:
                size = int(args.get("pageSize", 100))
                page = int(args["page"])
                found = found[(page - 1) * size : page * size]
            return [json.loads(json.dumps(i)) for i in found]

    def post_invoices(self, body: dict) -> list[dict]:
        answered = []
        with self.lock:
            for change in body.get("Invoices", []):
                invoice = self.invoices.get(change.get("InvoiceID", ""))
                if invoice is None:
                    answered.append(self.refused(change, "Invoice could not be found"))
                    continue
                wanted, status = change.get("Status"), invoice["Status"]
                if invoice["Payments"] and wanted in ("VOIDED", "DELETED"):
                    answered.append(
                        self.refused(
                            change,
                            "This document cannot be edited as it has a payment or credit "
                            "note allocated to it.",
                        )
                    )
                elif wanted == "VOIDED" and status == "AUTHORISED":
                    invoice["Status"] = "VOIDED"
                    answered.append(invoice)
                elif wanted == "DELETED" and status in ("DRAFT", "SUBMITTED"):
                    invoice["Status"] = "DELETED"
                    answered.append(invoice)
                else:
                    answered.append(
                        self.refused(change, "Invoice not of valid status for modification")
                    )
        return answered

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")


def _why(error: Exception) -> str:
    reasons = [str(error)]
    cause = error.__cause__ or error.__context__
    while cause is not None and len(reasons) < 4:
        reasons.append(str(cause)[:500])
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(reasons)
