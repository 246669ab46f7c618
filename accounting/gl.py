"""GL lines: what a record posts to the ledger, and the fingerprint of what is sent."""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from accounting.models import DefaultGLAccount, GLAccount
from psa.errors import ApplicationError

CENT = Decimal("0.01")
# Money columns are DecimalField(max_digits=20, decimal_places=2).
MONEY_LIMIT = Decimal(10) ** 18


def fits_money(value: Decimal) -> bool:
    """Whether an amount fits a money column (checked before rounding, which a value
    of more than 28 digits would make fail)."""
    return abs(value) < MONEY_LIMIT


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GLLine:
    account_number: str
    account_name: str
    account_type: str
    debit: Decimal
    credit: Decimal
    memo: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "account_number": self.account_number,
            "account_name": self.account_name,
            "account_type": self.account_type,
            "debit": f"{self.debit:.2f}",
            "credit": f"{self.credit:.2f}",
            "memo": self.memo,
        }


@dataclass(frozen=True)
class PostingHeader:
    """The header fields an export carries for a record."""

    type: str
    id: int
    reference: str
    number: str
    date: date
    company: str
    company_identifier: str
    due_date: date | None = None
    tax_code: str = ""

    def as_json(self) -> dict[str, str | int | None]:
        return {
            "type": self.type,
            "id": self.id,
            "reference": self.reference,
            "number": self.number,
            "date": self.date.isoformat(),
            "company": self.company,
            "company_identifier": self.company_identifier,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "tax_code": self.tax_code,
        }


@dataclass(frozen=True)
class Posting:
    header: PostingHeader
    lines: tuple[GLLine, ...]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal("0"))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0"))

    def is_balanced(self) -> bool:
        return self.total_debit == self.total_credit

    # Computed once: a transfer logs the lines and their fingerprint for every record.
    @cached_property
    def _lines_json(self) -> list[dict[str, str]]:
        return [line.as_json() for line in self.lines]

    def lines_json(self) -> list[dict[str, str]]:
        return self._lines_json

    @cached_property
    def _fingerprint(self) -> str:
        payload = json.dumps(
            {"header": self.header.as_json(), "lines": self._lines_json},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def fingerprint(self) -> str:
        """A digest of everything a transfer carries for the record, so that any edit
        an export would show counts as a change, and nothing else does."""
        return self._fingerprint


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
        return self._line(account_id, default_type, amount, memo, debit=True)

    def credit(
        self, account_id: int | None, default_type: str, amount: Decimal, memo: str = ""
    ) -> GLLine:
        return self._line(account_id, default_type, amount, memo, debit=False)

    def _line(self, account_id, default_type, amount, memo, *, debit: bool) -> GLLine:
        account = self.account(account_id, default_type)
        amount = to_cents(amount)
        # A negative amount on one side is a positive amount on the other.
        if amount < 0:
            debit, amount = not debit, -amount
        zero = Decimal("0.00")
        return GLLine(
            account_number=account.number,
            account_name=account.name,
            account_type=account.type,
            debit=amount if debit else zero,
            credit=zero if debit else amount,
            memo=memo,
        )
