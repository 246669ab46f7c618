"""GL lines: what a record posts to the ledger, and the fingerprint of what is sent."""

import datetime as dt
import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, NamedTuple

import orjson

from accounting.models import DefaultGLAccount, GLAccount
from core.errors import ApplicationError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal) -> Decimal:
    # An amount read from a money column already has two places: nothing to round.
    if value.same_quantum(CENT):
        return value
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# Named tuples rather than dataclasses: a transfer builds several for every record it
# sends, and a tuple is a fraction of the cost of a frozen dataclass to build. Both are
# immutable and keep attribute names; `_replace` returns a changed copy.
class GLLine(NamedTuple):
    account_number: str
    account_name: str
    account_type: str
    debit: Decimal
    credit: Decimal
    memo: str = ""


# What the accounting package makes of a posting: a sale (an invoice to a customer,
# against accounts receivable) or a bill (owed to a vendor or an employee, against a
# payable). Each kind's adapter says which; exporters branch on it, never on the kind.
SALE: Final = "sale"
BILL: Final = "bill"


class PostingHeader(NamedTuple):
    """The header fields an export carries for a record."""

    type: str
    id: int
    reference: str
    number: str
    date: dt.date
    company: str
    company_identifier: str
    due_date: dt.date | None = None
    tax_code: str = ""
    document: str = ""  # SALE or BILL, from the kind's adapter; not fingerprinted


# The header fields a posting's fingerprint covers: all but the document type.
_FINGERPRINTED_FIELDS = PostingHeader._fields.index("document")


# Not frozen: a frozen dataclass's __init__ costs a transfer, which builds a posting for
# every record it sends, measurably more. Nothing changes a posting once built.
@dataclass(slots=True)
class Posting:
    header: PostingHeader
    lines: tuple[GLLine, ...]
    # The JSON text of the lines and the fingerprint, computed once (see _logged).
    _logged_texts: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    def is_balanced(self) -> bool:
        # One pass instead of the two totals: every export checks every posting.
        debit = credit = ZERO
        for line in self.lines:
            debit += line.debit
            credit += line.credit
        return debit == credit

    def lines_json(self) -> list[list[str]]:
        """The GL lines as the transfer log keeps them: one array per line, its values
        in GLLine's field order (account number, name and type, debit, credit, memo),
        amounts as text with two places ("12.50")."""
        return [
            [number, name, account_type, _cents_text(debit), _cents_text(credit), memo]
            for number, name, account_type, debit, credit, memo in self.lines
        ]

    def lines_json_text(self) -> str:
        """`lines_json` as JSON text."""
        return self._logged()[0]

    def fingerprint(self) -> str:
        """A digest of everything a transfer carries for the record, so that any edit
        an export would show counts as a change, and nothing else does."""
        return self._logged()[1]

    def matches(self, fingerprint: str) -> bool:
        """Whether a fingerprint from the transfer log is this posting's. Log rows
        written before the log kept lines as arrays kept them as JSON objects, and
        their fingerprint is over those objects."""
        if fingerprint == self.fingerprint():
            return True
        objects = [dict(zip(GLLine._fields, line, strict=True)) for line in self.lines_json()]
        return fingerprint == self._digest(orjson.dumps(objects))

    def _logged(self) -> tuple[str, str]:
        # Computed once: a transfer logs the lines and their fingerprint for every
        # record, both from the same JSON text.
        logged = self._logged_texts
        if logged is None:
            lines = orjson.dumps(self.lines_json())
            logged = self._logged_texts = (lines.decode(), self._digest(lines))
        return logged

    def _digest(self, lines: bytes) -> str:
        # The header's fields in their declared order (a JSON array, dates as ISO
        # dates), a newline, then the lines' JSON: one canonical text per posting. The
        # document type follows from the record type and is left out, so fingerprints
        # logged before it existed still match.
        header = self.header[:_FINGERPRINTED_FIELDS]
        return hashlib.sha256(orjson.dumps(header) + b"\n" + lines).hexdigest()


def _cents_text(amount: Decimal) -> str:
    # str() of an amount that has two places already says so, at a fraction of the
    # cost of a format. Every line has one side ZERO.
    if amount is ZERO:
        return "0.00"
    return str(amount) if amount.same_quantum(CENT) else f"{amount:.2f}"


# A GL line built by tuple.__new__ itself: calling GLLine(...) goes through a __new__
# written in Python, a measurable part of a transfer that builds several lines a record.
_new_line = tuple.__new__


class AccountBook:
    """GL accounts and setup defaults, loaded once per export instead of once per line."""

    def __init__(self) -> None:
        self.by_id = {account.pk: account for account in GLAccount.objects.all()}
        self.defaults = {
            default.type: self.by_id[default.gl_account_id]
            for default in DefaultGLAccount.objects.all()
        }

    def account(self, account_id: int | None, default_type: str) -> GLAccount:
        if account_id is not None:
            return self.by_id[account_id]
        try:
            return self.defaults[default_type]
        except KeyError:
            raise ApplicationError(
                f"No default GL account is set up for {default_type.replace('_', ' ')}. "
                "Choose one in the accounting package setup.",
                code="validation_error",
                status_code=400,
            ) from None

    def debit(
        self, account_id: int | None, default_type: str, amount: Decimal, memo: str = ""
    ) -> GLLine:
        return self._line(account_id, default_type, amount, memo, True)

    def credit(
        self, account_id: int | None, default_type: str, amount: Decimal, memo: str = ""
    ) -> GLLine:
        return self._line(account_id, default_type, amount, memo, False)

    def _line(self, account_id, default_type, amount, memo, debit: bool) -> GLLine:
        account = self.account(account_id, default_type)
        amount = to_cents(amount)
        # A negative amount on one side is a positive amount on the other.
        if amount < 0:
            debit, amount = not debit, -amount
        if debit:
            return _new_line(
                GLLine, (account.number, account.name, account.type, amount, ZERO, memo)
            )
        return _new_line(GLLine, (account.number, account.name, account.type, ZERO, amount, memo))


@contextmanager
def fewer_collections() -> Iterator[None]:
    """For building postings in bulk. Python's cycle collector, every few hundred new
    objects that outlive the last collection, walks them and, every so often, everything
    the process holds. Postings in bulk are millions of short-lived tuples and strings,
    none in a reference cycle, held a chunk at a time: collecting at the usual pace cost
    a transfer a fifth of its time. It collects less often inside this block."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
