"""How the beancount connector renders a record: its transaction (payee,
narration, link, metadata, one posting per GL line) and the `open` directives of
the accounts it is the first to use."""

from datetime import date
from typing import TYPE_CHECKING

from accounting.connectors.beancount.ledger import _LedgerIndex
from accounting.connectors.beancount.names import (
    account_name_for,
    external_reference,
    link_for,
    quoted,
    record_key,
)
from accounting.exporters.base import clean_text, money
from core.errors import ApplicationError

if TYPE_CHECKING:
    from accounting.gl import GLLine, Posting

DEFAULT_OPEN_DATE = date(2000, 1, 1)


class TransactionRenderer:
    """The transactions a `BeancountConnector` appends to its ledger."""

    currency: str

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
