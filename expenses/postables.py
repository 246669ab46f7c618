import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.db.models import QuerySet

from accounting.door import BILL, AccountBook, BatchedKind, Posting, PostingHeader
from expenses.models import EXPENSE_BATCHING, ExpenseEntry, expense_reference


class ExpenseKind(BatchedKind):
    type = "expense"
    label = "Expense"
    plural_label = "Expenses"
    url_name = "expenses:entry_detail"
    lock_order = 2
    document = BILL
    model = ExpenseEntry
    batching = EXPENSE_BATCHING
    amount_field = "amount"
    company_lookups: tuple[str, ...] = (
        "sheet__member__first_name",
        "sheet__member__last_name",
        "sheet__member__username",
    )
    text_lookups: tuple[str, ...] = ("description", "company__name", "sheet__member__username")

    def not_ready_reason(self, record: ExpenseEntry) -> str:
        return (
            f"{self.reference(record)} is on expense sheet {record.sheet_id}, which is "
            f"{record.sheet.status}; submit and approve the sheet first."
        )

    def queryset(self) -> QuerySet:
        return ExpenseEntry.objects.select_related("sheet__member", "expense_type", "company")

    def reference(self, record: ExpenseEntry) -> str:
        return expense_reference(record.pk)

    def company_name(self, record: ExpenseEntry) -> str:
        member = record.sheet.member
        return member.get_full_name() or member.get_username()

    def posting(self, record: ExpenseEntry, book: AccountBook) -> Posting:
        member = record.sheet.member
        return self._posting(
            ExpenseRow(
                record.pk,
                record.date,
                record.amount,
                record.description,
                record.expense_type.name,
                record.expense_type.gl_account_id,
                member.first_name,
                member.last_name,
                member.get_username(),
            ),
            book,
        )

    def bulk_postings(
        self,
        rows: QuerySet,
        book: AccountBook,
        chunk_size: int | None = 2000,
        *,
        between: tuple[int, int] | None = None,
    ) -> Iterator[Posting]:
        """The same postings as `posting`, from plain rows (no model instances)."""
        if between is not None:
            rows = rows.filter(pk__range=between)
        values = rows.order_by("pk").values_list(*EXPENSE_ROW_LOOKUPS)
        for row in map(ExpenseRow._make, self.read_rows(values, chunk_size)):
            yield self._posting(row, book)

    def _posting(self, row: "ExpenseRow", book: AccountBook) -> Posting:
        # As User.get_full_name() or the username.
        member = f"{row.first_name} {row.last_name}".strip() or row.username
        memo = f"{row.expense_type}: {row.description}"
        lines = (
            book.debit(row.expense_account_id, "expense", row.amount, memo),
            book.credit(None, "reimbursement", row.amount, f"Reimburse {member}"),
        )
        header = PostingHeader(
            type=self.type,
            id=row.id,
            reference=expense_reference(row.id),
            number=f"EXP-{row.id}",
            date=row.date,
            company=member,
            company_identifier=row.username,
            document=self.document,
        )
        return Posting(header=header, lines=lines)


class ExpenseRow(NamedTuple):
    """What an expense entry's posting reads, as plain values."""

    id: int
    date: datetime.date
    amount: Decimal
    description: str
    expense_type: str
    expense_account_id: int
    first_name: str
    last_name: str
    username: str


EXPENSE_ROW_LOOKUPS = (
    "pk",
    "date",
    "amount",
    "description",
    "expense_type__name",
    "expense_type__gl_account_id",
    "sheet__member__first_name",
    "sheet__member__last_name",
    "sheet__member__username",
)
