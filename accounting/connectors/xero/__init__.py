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

Reading back (the books check, payments)
- `find_sent` pages through the documents this app created that Xero still holds
  (`createdByMyApp`, statuses other than VOIDED and DELETED), each matched to its
  record and batch by its `XeroDocument` row, and reads it back as the GL lines sent
  (the receivable or payable line Xero posts itself is put back on the PSA's account,
  kept with the row). `find_payments` answers each sales invoice's amount paid and
  the date of its last payment, from Xero's payments on it.

Limits
- At most XERO_CALLS_A_MINUTE calls in XERO_MINUTE_SECONDS, XERO_CALLS_A_DAY a day
  and XERO_CALLS_IN_FLIGHT at once per organisation, from every process of the PSA
  together (`limits`: kept in PostgreSQL); past Xero's own limits (another app on the
  organisation) a 429 is waited out for its `Retry-After` and the call repeated (with
  the same Idempotency-Key). While it waits, `on_wait(until)` is told, which shows the
  batch as waiting. A wait longer than XERO_MAX_WAIT_SECONDS stops the transfer with
  the time to retry it.

Re-send
- An original is voided (AUTHORISED, nothing paid) or deleted (DRAFT, SUBMITTED) in
  one request for many; an original with payments is left as it is, and its record is
  refused with the reason (`refusals`).

Secrets (the client secret, the refresh token) come from `XeroConnection`, decrypted
only to be sent to Xero; they are never logged, and errors never quote them.

The modules: `connector` (the connector's interface and the removal of
originals), `documents` (the invoices and bills it creates, and their contacts),
`client` (the SDK's client: tokens, calls), `limits` (Xero's limits, shared by every
process).
"""

from accounting.connectors.xero.client import (
    SCOPES,
    XeroClient,
    _limits,
    authorise_url,
    exchange_code,
    limits_of,
)
from accounting.connectors.xero.connector import GONE, REMOVABLE, XeroConnector
from accounting.connectors.xero.documents import (
    CONTACT_NAMES_PER_QUERY,
    PER_REQUEST,
    Key,
)

__all__ = [
    "CONTACT_NAMES_PER_QUERY",
    "GONE",
    "PER_REQUEST",
    "REMOVABLE",
    "SCOPES",
    "Key",
    "XeroClient",
    "XeroConnector",
    "_limits",
    "authorise_url",
    "exchange_code",
    "limits_of",
]
