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
"""

import contextlib
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from beancount.core.data import Open, Transaction
from beancount.parser import parser as beancount_parser

from accounting.connectors import RecordPayment, SentRecord, files
from accounting.exporters.base import clean_text, money
from accounting.models import GL_ACCOUNT_ROOTS
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import GLLine, Posting

logger = logging.getLogger(__name__)

# Beancount's root of each GL account type, as accounting's models declare it.
ROOTS = {str(type_): root for type_, root in GL_ACCOUNT_ROOTS.items()}
DEFAULT_OPEN_DATE = date(2000, 1, 1)
# The lines that frame what one send appended (comments to beancount).
BEGIN_MARKER = "; psa-begin"
END_MARKER = "; psa-end"
_BEGIN_LINE = re.compile(rb"; psa-begin .* ([0-9a-f]{16}) ([0-9]+)\r?")
CURRENCY = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")
MAX_NAME_LENGTH = 60
# The link a record's transactions carry (`link_for`): psa-<type>-<id>.
_RECORD_LINK = re.compile(r"psa-([A-Za-z0-9_/.-]+)-([0-9]+)")


def _words(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Za-z0-9]+", ascii_text)


def camel_case(text: str) -> str:
    """'Accounts receivable' -> 'AccountsReceivable': a beancount account component."""
    return "".join(word[0].upper() + word[1:] for word in _words(text))[:MAX_NAME_LENGTH]


def account_name_for(line: "GLLine") -> str:
    """`<Root>:<Type>:A<number>-<Name>`; the `A` keeps the component valid whatever the
    number starts with."""
    try:
        root = ROOTS[line.account_type]
    except KeyError:
        raise ApplicationError(
            f"GL account {line.account_number} {line.account_name} has the type "
            f"'{line.account_type}', which the beancount connector cannot place under "
            "Assets, Liabilities, Income or Expenses.",
            code="validation_error",
            status_code=400,
        ) from None
    leaf = "A" + "-".join(_words(line.account_number))
    name = camel_case(line.account_name)
    if name:
        leaf = f"{leaf}-{name}"
    return f"{root}:{camel_case(line.account_type.replace('_', ' '))}:{leaf}"


def quoted(text: str) -> str:
    """A beancount string literal: one line, with backslashes and quotes escaped."""
    return '"' + clean_text(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_key(record_type: str, record_id: int) -> str:
    return f"{record_type}:{record_id}"


def link_for(record_type: str, record_id: int) -> str:
    return "psa-" + re.sub(r"[^A-Za-z0-9_/.-]", "-", f"{record_type}-{record_id}")


def external_reference(record_type: str, record_id: int, batch: str) -> str:
    return f"^{link_for(record_type, record_id)}@{batch}"


@dataclass
class _LedgerIndex:
    # (type, id, batch) -> external reference of the transaction already written
    sent: dict[tuple[str, int, str], str] = field(default_factory=dict)
    # (GL account number, GL account type) -> the beancount account opened for it
    accounts: dict[tuple[str, str], str] = field(default_factory=dict)
    # every opened beancount account -> the GL account it was opened for (None: by hand)
    opened: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    # (type, id) -> the batches the record has a transaction of
    batches: dict[tuple[str, int], set[str]] = field(default_factory=dict)


class BeancountConnector:
    def __init__(
        self,
        *,
        ledger_path: str,
        root: str | os.PathLike | None = None,
        currency: str = "USD",
    ) -> None:
        """`ledger_path` names the ledger inside `root` (the ledger folder,
        `settings.LEDGER_ROOT` when not given). Only the name's text is checked here;
        the disk is checked each time the ledger is opened."""
        if not isinstance(currency, str) or not CURRENCY.match(currency):
            raise ApplicationError(
                "The setup's currency is not a beancount currency; use a code such as USD.",
                code="validation_error",
                status_code=400,
                extra={"fields": {"options.currency": ["Use a code such as USD."]}},
            )
        problem = files.name_problem(ledger_path)
        if problem:
            raise files.LedgerFileError(
                "The accounting package setup's ledger_path cannot be used: "
                f"{problem} Set it in the setup, then retry.",
                problem=problem,
            )
        self.name = ledger_path
        self.root = root
        self.currency = currency
        # While the lock is held: the ledger as located, and its folder's descriptor.
        self._location: files.LedgerLocation | None = None
        self._folder: int | None = None
        # The ledger's index as this connector last left it, with the file's state then.
        self._known: tuple[tuple[int, int, int] | None, _LedgerIndex] | None = None

    # The interface ------------------------------------------------------------------

    def send(
        self,
        postings: Iterable["Posting"],
        *,
        batch_identifier: str,
        replacing: Iterable[tuple[str, int, str]] = (),
    ) -> dict[tuple[str, int], str]:
        batch = self._batch(batch_identifier)
        # A text file has no transactions: the originals go first, in a rewrite of
        # their own, then this send appends.
        self.remove_sent(replacing)
        answered: dict[tuple[str, int], str] = {}
        with self._locked(exclusive=True):
            index = self._current_index()
            self._known = None  # until this send is on disk
            descriptor = files.create_in_folder(
                self._folder_descriptor, self._file, os.O_RDWR | os.O_APPEND, name=self.name
            )
            body: list[str] = []
            try:
                for posting in postings:
                    key = (posting.header.type, posting.header.id)
                    reference = index.sent.get((*key, batch))
                    if reference is None:
                        reference = self._append(body, index, posting, batch)
                    answered[key] = reference
            finally:
                # What was made before a refused posting is written all the same.
                try:
                    self._write_block(descriptor, batch, "".join(body))
                finally:
                    os.close(descriptor)
            self._sync_directory()
            self._known = (self._file_state(), index)
        return answered

    def find(self, *, record_type: str, record_id: int) -> list[SentRecord]:
        with self._locked(exclusive=False):
            entries, _ = self._parse(repair=False)
            return [
                SentRecord(
                    record_type, record_id, external_reference(record_type, record_id, batch)
                )
                for _, batch in self._transactions_of(entries, record_type, record_id)
            ]

    def find_sent(self) -> Iterator[SentRecord]:
        with self._locked(exclusive=False):
            entries, _ = self._parse(repair=False)
        # Read under the shared lock, answered after it is let go.
        numbers = {
            entry.account: str(entry.meta["psa_account_number"])
            for entry in entries
            if isinstance(entry, Open) and entry.meta.get("psa_account_number")
        }
        found = []
        for entry in entries:
            identity = _identity(entry) if isinstance(entry, Transaction) else None
            if identity is None:
                continue
            record_type, record_id, batch = identity
            lines = sorted(
                (numbers.get(posting.account, posting.account), posting.units.number)
                for posting in entry.postings
                if posting.units is not None and posting.units.number is not None
            )
            found.append(
                SentRecord(
                    record_type,
                    record_id,
                    external_reference(record_type, record_id, batch),
                    batch_identifier=batch,
                    date=entry.date,
                    lines=tuple(lines),
                )
            )
        del entries
        found.sort(key=lambda sent: (sent.record_type, sent.record_id, sent.batch_identifier))
        return iter(found)

    def find_payments(self) -> Iterator[RecordPayment]:
        """Payments are the transactions this connector did not write that carry a
        record's link (`^psa-invoice-12`) and post to an accounts-receivable account
        it opened: each posting there is a payment of minus its amount (a credit to
        the receivable). Answered per record, sorted by (type, id)."""
        with self._locked(exclusive=False):
            entries, _ = self._parse(repair=False)
        receivable = {
            entry.account
            for entry in entries
            if isinstance(entry, Open)
            and entry.meta.get("psa_account_type") == "accounts_receivable"
        }
        paid: dict[tuple[str, int], list] = {}
        for entry in entries:
            if not isinstance(entry, Transaction) or _identity(entry) or not entry.links:
                continue
            amount = -sum(
                (
                    posting.units.number
                    for posting in entry.postings
                    if posting.account in receivable
                    and posting.units is not None
                    and posting.units.number is not None
                ),
                Decimal("0"),
            )
            if not amount:
                continue
            for link in entry.links:
                match = _RECORD_LINK.fullmatch(link)
                if match is None:
                    continue
                key = (match[1], int(match[2]))
                total = paid.setdefault(key, [Decimal("0"), entry.date])
                total[0] += amount
                total[1] = max(total[1], entry.date)
        return iter(
            RecordPayment(record_type, record_id, amount, last)
            for (record_type, record_id), (amount, last) in sorted(paid.items())
        )

    def remove(
        self, *, record_type: str, record_id: int, batch_identifier: str | None = None
    ) -> int:
        batch = None if batch_identifier is None else self._batch(batch_identifier)
        with self._locked(exclusive=True):
            entries, text = self._parse()
            doomed = {
                entry.meta["lineno"]
                for entry, entry_batch in self._transactions_of(entries, record_type, record_id)
                if batch is None or entry_batch == batch
            }
            if not doomed:
                return 0
            text = self._without_lines(text, doomed)
            self._check_rewrite(text, expected_entries=len(entries) - len(doomed))
            self._known = None
            self._replace(text)
            return len(doomed)

    def remove_sent(self, sends: Iterable[tuple[str, int, str]]) -> int:
        wanted = {
            (record_type, int(record_id), self._batch(batch))
            for record_type, record_id, batch in sends
        }
        if not wanted:
            return 0
        with self._locked(exclusive=True):
            entries, text = self._parse()
            doomed = {
                entry.meta["lineno"]
                for entry in entries
                if isinstance(entry, Transaction) and _identity(entry) in wanted
            }
            if not doomed:
                return 0
            text = self._without_lines(text, doomed)
            self._check_rewrite(text, expected_entries=len(entries) - len(doomed))
            self._known = None
            self._replace(text)
            return len(doomed)

    def remove_except(
        self, records: Iterable[tuple[str, int]], *, keep_batch: str
    ) -> list[SentRecord]:
        keep = self._batch(keep_batch)
        with self._locked(exclusive=True):
            held = self._current_index().batches
            wanted = set()
            for record_type, record_id in records:
                batches = held.get((record_type, record_id))
                if batches and (len(batches) > 1 or keep not in batches):
                    wanted.add((record_type, int(record_id)))
            if not wanted:
                return []
            entries, text = self._parse()
            doomed: dict[int, tuple[str, int, str]] = {}
            for entry in entries:
                if isinstance(entry, Transaction):
                    identity = _identity(entry)
                    if identity and identity[:2] in wanted and identity[2] != keep:
                        doomed[entry.meta["lineno"]] = identity
            if not doomed:
                return []
            text = self._without_lines(text, set(doomed))
            self._check_rewrite(text, expected_entries=len(entries) - len(doomed))
            self._known = None
            self._replace(text)
            return [
                SentRecord(record_type, record_id, external_reference(record_type, record_id, b))
                for record_type, record_id, b in doomed.values()
            ]

    def test_connection(self, gl_accounts: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The setup's "Test connection": read the ledger as a transfer would (a missing
        one is made on the first transfer) and report what it holds. Accounts are
        opened as first used, so no GL account is ever missing."""
        with self._locked(exclusive=False):
            exists = self._open(os.O_RDONLY)
            if exists is not None:
                os.close(exists)
            entries, _ = self._parse(repair=False)
        index = self._index(entries)
        found = {
            "exists": exists is not None,
            "accounts": len(index.opened),
            "transactions": sum(isinstance(entry, Transaction) for entry in entries),
            "sent_transactions": len(index.sent),
        }
        if exists is None:
            message = (
                f"The ledger {self.name} does not exist yet; the first transfer makes it "
                "in the ledger folder."
            )
        else:
            message = (
                f"Read the ledger {self.name}: {found['accounts']} accounts, "
                f"{found['transactions']} transactions ({found['sent_transactions']} sent "
                "by direct transfer)."
            )
        return {"ok": True, "message": message, "found": found, "problems": []}

    # Reading ------------------------------------------------------------------------

    def _file_state(self) -> tuple[int, int, int] | None:
        try:
            state = os.stat(self._file, dir_fd=self._folder, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return (state.st_ino, state.st_size, state.st_mtime_ns)

    def _current_index(self) -> _LedgerIndex:
        """The ledger's index. A transfer sends chunk after chunk: the ledger is parsed
        again only when it changed since this connector last wrote it (another
        transfer, a removal, a hand edit), not once per chunk of a growing file."""
        state = self._file_state()
        if self._known is not None and self._known[0] == state:
            return self._known[1]
        entries, _ = self._parse()
        index = self._index(entries)
        self._known = (self._file_state(), index)
        return index

    @property
    def _file(self) -> str:
        assert self._location is not None, "the ledger is opened under its lock"
        return self._location.file

    @property
    def _folder_descriptor(self) -> int:
        assert self._folder is not None, "the ledger's folder is opened under its lock"
        return self._folder

    def _open(self, flags: int) -> int | None:
        return files.open_in_folder(self._folder_descriptor, self._file, flags, name=self.name)

    def _read(self) -> bytes | None:
        """The ledger's bytes (None when it does not exist yet), within the size limit."""
        descriptor = self._open(os.O_RDONLY)
        if descriptor is None:
            return None
        try:
            return files.read_limited(descriptor, name=self.name)
        finally:
            os.close(descriptor)

    def _text(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ApplicationError(
                f"The ledger {self.name} is not UTF-8 text (at byte {error.start}); save it "
                "as UTF-8, then retry the transfer.",
                code="ledger_invalid",
            ) from None

    def _parse(self, *, repair: bool = True) -> tuple[list, str]:
        """The ledger's entries and text (none when it does not exist yet), without a
        transfer's write that was cut off at its end (`_torn_tail`): `repair` (under the
        exclusive lock) truncates the ledger before it, a reader only leaves it out.

        Only parsing: the ledger's own balance errors (say, a hand-written entry) are
        the user's business, but text the parser cannot read must not be appended to or
        rewritten."""
        data = self._read()
        if data is None:
            return [], ""
        cut = _torn_tail(data)
        if cut is not None:
            logger.warning(
                "The beancount ledger %s ends in a transfer's write that was cut off "
                "(%d bytes from byte %d)%s",
                self.name,
                len(data) - cut,
                cut,
                "; it was truncated before it, and its records are sent again"
                if repair
                else "; it is left out",
            )
            if repair:
                self._truncate(cut)
            data = data[:cut]
        text = self._text(data)
        entries, errors, _ = beancount_parser.parse_string(text, report_filename=self.name)
        if errors:
            first = errors[0]
            line = (first.source or {}).get("lineno", "?")
            # The parser quotes the file: its words are for the server's log only.
            logger.warning(
                "The beancount ledger %s does not parse: line %s: %s (%d errors)",
                self.name,
                line,
                first.message,
                len(errors),
            )
            raise ApplicationError(
                f"The ledger {self.name} does not parse at line {line}; fix that line in "
                "the ledger, then retry the transfer.",
                code="ledger_invalid",
            )
        return entries, text

    def _truncate(self, size: int) -> None:
        descriptor = self._open(os.O_RDWR)
        if descriptor is None:
            return
        try:
            os.ftruncate(descriptor, size)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    @staticmethod
    def _index(entries: list) -> _LedgerIndex:
        index = _LedgerIndex()
        for entry in entries:
            if isinstance(entry, Open):
                number = entry.meta.get("psa_account_number")
                account_type = entry.meta.get("psa_account_type")
                gl_account = (str(number), str(account_type)) if number and account_type else None
                index.opened[entry.account] = gl_account
                if gl_account:
                    index.accounts.setdefault(gl_account, entry.account)
            elif isinstance(entry, Transaction):
                identity = _identity(entry)
                if identity:
                    record_type, record_id, batch = identity
                    index.sent[identity] = external_reference(record_type, record_id, batch)
                    index.batches.setdefault((record_type, record_id), set()).add(batch)
        return index

    @staticmethod
    def _transactions_of(
        entries: list, record_type: str, record_id: int
    ) -> Iterator[tuple[Transaction, str]]:
        for entry in entries:
            if isinstance(entry, Transaction):
                identity = _identity(entry)
                if identity and identity[:2] == (record_type, int(record_id)):
                    yield entry, identity[2]

    # Writing ------------------------------------------------------------------------

    def _write_block(self, descriptor: int, batch: str, body: str) -> None:
        """Append `body` (with the option line of a new ledger) as one block between
        `; psa-begin <batch> <token> <length>` and `; psa-end <token>`, in as few writes
        as the system allows, and fsync it. A process killed in the middle leaves a
        block without its end, which the next writer truncates (`_torn_tail`). The line
        end an existing ledger lacks goes first, so that our first line is never glued
        onto its last one."""
        size = os.fstat(descriptor).st_size
        if size == 0:
            body = f'option "operating_currency" {quoted(self.currency)}\n\n' + body
        elif not body:
            return
        lead = b"" if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n" else b"\n"
        token = secrets.token_hex(8)
        inner = f"{body}{END_MARKER} {token}\n".encode()
        data = lead + f"{BEGIN_MARKER} {batch} {token} {len(inner)}\n".encode() + inner
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)

    def _append(
        self, ledger: list[str], index: _LedgerIndex, posting: "Posting", batch: str
    ) -> str:
        header = posting.header
        if not posting.is_balanced():
            raise ApplicationError(
                f"{header.reference} does not balance (debits {money(posting.total_debit)}, "
                f"credits {money(posting.total_credit)}); nothing was written for it.",
                code="validation_error",
                status_code=400,
            )
        opens: list[str] = []
        new_accounts: dict[tuple[str, str], str] = {}
        accounts = []
        for line in posting.lines:
            gl_account = (clean_text(line.account_number), clean_text(line.account_type))
            account = index.accounts.get(gl_account) or new_accounts.get(gl_account)
            if account is None:
                account, already_open = self._new_account_name(index, new_accounts, line)
                new_accounts[gl_account] = account
                if already_open:
                    accounts.append(account)
                    continue
                open_date = min(DEFAULT_OPEN_DATE, header.date)
                opens.append(
                    f"{open_date.isoformat()} open {account} {self.currency}\n"
                    f"  psa_account_number: {quoted(line.account_number)}\n"
                    f"  psa_account_type: {quoted(line.account_type)}\n"
                    f"  psa_account_name: {quoted(line.account_name)}\n\n"
                )
            accounts.append(account)
        text = [
            f"{header.date.isoformat()} * {quoted(header.company)} {quoted(header.reference)}"
            f" ^{link_for(header.type, header.id)}\n",
            f"  psa_record: {quoted(record_key(header.type, header.id))}\n",
            f"  psa_batch: {quoted(batch)}\n",
        ]
        for line, account in zip(posting.lines, accounts, strict=True):
            amount = money(line.debit - line.credit)
            text.append(f"  {account:<60} {amount:>14} {self.currency}\n")
            if clean_text(line.memo):
                text.append(f"    memo: {quoted(line.memo)}\n")
        text.append("\n")
        ledger.append("".join(opens) + "".join(text))
        for gl_account, account in new_accounts.items():
            index.accounts[gl_account] = account
            index.opened[account] = gl_account
        reference = external_reference(header.type, header.id, batch)
        index.sent[(header.type, header.id, batch)] = reference
        index.batches.setdefault((header.type, header.id), set()).add(batch)
        return reference

    @staticmethod
    def _new_account_name(
        index: _LedgerIndex, new_accounts: dict[tuple[str, str], str], line: "GLLine"
    ) -> tuple[str, bool]:
        """The account for a GL account the ledger has none for yet, and whether it is
        already open: one opened by hand under exactly the derived name is used as is; a
        name another GL account holds gets a numeric suffix."""
        base = account_name_for(line)
        taken = set(new_accounts.values())
        candidate, suffix = base, 1
        while candidate in taken or (
            candidate in index.opened and index.opened[candidate] is not None
        ):
            suffix += 1
            candidate = f"{base}-{suffix}"
        return candidate, candidate in index.opened

    @staticmethod
    def _without_lines(text: str, starts: set[int]) -> str:
        """The text without the transactions whose first line numbers are `starts`: each
        goes with its indented lines and the blank line that follows it."""
        parts = text.split("\n")
        lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        kept, index = [], 0
        while index < len(lines):
            if index + 1 not in starts:
                kept.append(lines[index])
                index += 1
                continue
            index += 1
            while index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip():
                index += 1
            if index < len(lines) and not lines[index].strip():
                index += 1
        return "".join(kept)

    def _check_rewrite(self, text: str, *, expected_entries: int) -> None:
        entries, errors, _ = beancount_parser.parse_string(text)
        if errors or len(entries) != expected_entries:
            raise ApplicationError(
                f"Removing from the ledger {self.name} would damage it (an entry "
                "of this record is laid out in a way the connector does not expect); the "
                "ledger was left as it was. Remove the transactions by hand.",
                code="ledger_invalid",
            )

    def _replace(self, text: str) -> None:
        """Write `text` to a temporary file beside the ledger and put it in the
        ledger's place, all inside the ledger's folder descriptor."""
        folder = self._folder
        mode = os.stat(self._file, dir_fd=folder, follow_symlinks=False).st_mode & 0o7777
        temporary = f".{self._file}.{secrets.token_hex(6)}.tmp"
        descriptor = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=folder,
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), mode)
            os.replace(temporary, self._file, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=folder)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        """Make a created or replaced ledger file's directory entry durable too."""
        os.fsync(self._folder_descriptor)

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Locate the ledger inside the ledger folder, open its folder, and hold the
        lock file beside it; the ledger is opened only while this is held."""
        location = files.locate(self.name, root=self.root)
        with files.locked(location, exclusive=exclusive, name=self.name) as folder:
            self._location, self._folder = location, folder
            try:
                yield
            finally:
                self._location, self._folder = None, None

    @staticmethod
    def _batch(batch_identifier: str) -> str:
        batch = clean_text(batch_identifier)
        if not batch:
            raise ApplicationError(
                "A batch identifier is needed to send to the beancount ledger.",
                code="validation_error",
                status_code=400,
            )
        return batch


def _torn_tail(data: bytes) -> int | None:
    """Where the ledger's last psa block starts, when that block is a write cut off by
    a crash: it has no `; psa-end` line with its token, and less follows its begin line
    than the length it names. Its records have no transfer-log rows yet (those commit
    after the connector returns), so dropping it and sending them again is right.
    A block that lacks its end but is followed by as much text as it named was edited
    by hand: it is left to the parser. Text outside psa blocks is never touched."""
    at = data.rfind(b"\n" + BEGIN_MARKER.encode() + b" ")
    if at >= 0:
        at += 1
    elif data.startswith(BEGIN_MARKER.encode() + b" "):
        at = 0
    else:
        return None
    line_end = data.find(b"\n", at)
    if line_end < 0:
        return at  # the begin line itself was cut off
    match = _BEGIN_LINE.fullmatch(data, at, line_end)
    if match is None:
        return None  # not a block this connector began
    token, length = match[1], int(match[2])
    rest = data[line_end + 1 :]
    if re.search(rb"^" + END_MARKER.encode() + b" " + token + rb"\r?$", rest, re.M):
        return None
    return at if len(rest) < length else None


def _identity(entry: Transaction) -> tuple[str, int, str] | None:
    """(type, id, batch) of a transaction this connector wrote, from its metadata."""
    record = entry.meta.get("psa_record")
    batch = entry.meta.get("psa_batch")
    if not isinstance(record, str) or not isinstance(batch, str):
        return None
    record_type, _, record_id = record.partition(":")
    if not record_type or not re.fullmatch(r"[0-9]+", record_id):
        return None
    return record_type, int(record_id), batch
