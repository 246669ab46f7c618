"""Direct transfer into a beancount ledger file (`options["ledger_path"]`, a name inside
the ledger folder `settings.LEDGER_ROOT`; see `accounting.connectors.files`).

What it writes
- A missing ledger is created with `option "operating_currency" "USD"` (the currency
  from `options["currency"]`).
- One transaction per record: payee the company (or employee), narration the record's
  reference, the link `^psa-<type>-<id>` (shared by every version of the record), and
  the metadata `psa_record: "<type>:<id>"` and `psa_batch: "<batch identifier>"`, which
  identify what this connector wrote. One posting per GL line, debit positive and credit
  negative, with the line's memo as posting metadata.
- Accounts are opened as first used. Names come from the GL account's type and number:
  `<Root>:<Type>:A<number>-<Name>`, for example
  `Assets:AccountsReceivable:A1100-AccountsReceivable`. Root: accounts receivable and
  inventory under Assets; payable, sales tax and reimbursement under Liabilities;
  income under Income; expense and freight under Expenses. The `open` directive records
  the GL account's number and type (`psa_account_number`, `psa_account_type`), and later
  transfers post to the account opened for that number and type, so renaming a GL
  account in the PSA does not split its ledger account in two. Accounts open on
  2000-01-01 (or the first record's date, if earlier) so that a back-dated record
  always finds its account open.

Safety
- Every send, find and remove locates the ledger inside the ledger folder again and
  opens it without following symbolic links (`accounting.connectors.files`): a name that
  leads out, a device, a pipe or a folder is refused before anything is read or
  written, and a ledger larger than `LEDGER_MAX_BYTES` is not read.
- Every send, find and remove holds an `fcntl` lock on `<ledger>.lock` (a sidecar file:
  the ledger itself is replaced on remove, and a lock on a replaced inode protects
  nothing), exclusive for writers, shared for readers, so two writers never interleave.
- Sends append and fsync; a record already in the ledger for the same batch is not
  written again. What one send appends is one block, written at once between the
  comment lines `; psa-begin <batch> <token> <length>` and `; psa-end <token>`. A
  worker killed while writing leaves a block without its end: the next send or removal
  (under the exclusive lock) truncates the ledger before it, with a warning in the
  server log, and its records are sent again (they have no transfer-log rows yet: the
  log commits after the connector answers); `find` leaves it out. Text outside these
  blocks is never cut. Removes rewrite the file without the record's transactions into
  a temporary file in the same directory, fsync it, check that it still parses, and
  `os.replace` it over the ledger. Everything else in the ledger (hand-written entries,
  comments) is kept as it was.
- A ledger that does not parse is neither appended to nor rewritten: the error names the
  ledger and the line to fix; the parser's own words, which quote the file, go to the
  server log only.

The modules: `connector` (the connector's interface), `ledger` (the ledger file:
locking, reading, appending blocks, rewriting), `render` (a record's transaction
and the accounts it opens), `names` (account names, links, references).
"""

from accounting.connectors.beancount.connector import CURRENCY, BeancountConnector
from accounting.connectors.beancount.ledger import BEGIN_MARKER, END_MARKER
from accounting.connectors.beancount.names import (
    MAX_NAME_LENGTH,
    ROOTS,
    account_name_for,
    camel_case,
    external_reference,
    link_for,
    quoted,
    record_key,
)
from accounting.connectors.beancount.render import DEFAULT_OPEN_DATE

__all__ = [
    "BEGIN_MARKER",
    "CURRENCY",
    "DEFAULT_OPEN_DATE",
    "END_MARKER",
    "MAX_NAME_LENGTH",
    "ROOTS",
    "BeancountConnector",
    "account_name_for",
    "camel_case",
    "external_reference",
    "link_for",
    "quoted",
    "record_key",
]
