"""The beancount connector's interface (see the package's description): send,
find, read back what was sent and the payments, remove, and test the connection."""

import os
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from beancount.core.data import Open, Transaction

from accounting.connectors import RecordPayment, SentRecord, files
from accounting.connectors.beancount.ledger import LedgerFile, _LedgerIndex
from accounting.connectors.beancount.names import _RECORD_LINK, _identity, external_reference
from accounting.connectors.beancount.render import TransactionRenderer
from accounting.exporters.base import clean_text
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import Posting

CURRENCY = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")


class BeancountConnector(LedgerFile, TransactionRenderer):
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
