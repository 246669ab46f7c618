from django.db.models import Q, QuerySet

from accounting.gl import AccountBook, Posting, PostingHeader
from expenses.models import ExpenseEntry


class ExpenseKind:
    type = "expense"
    label = "Expense"
    model = ExpenseEntry
    batch_field = "gl_batch"
    original_batch_field = "original_batch"
    date_field = "date"
    amount_field = "amount"

    def ready_filter(self) -> Q:
        return Q(is_approved=True)

    def not_ready_reason(self, record: ExpenseEntry) -> str:
        return (
            f"{self.reference(record)} is on expense sheet {record.sheet_id}, which is "
            f"{record.sheet.status}; submit and approve the sheet first."
        )

    def queryset(self) -> QuerySet:
        return ExpenseEntry.objects.select_related("sheet__member", "expense_type", "company")

    def reference(self, record: ExpenseEntry) -> str:
        return f"Expense {record.pk}"

    def company_name(self, record: ExpenseEntry) -> str:
        member = record.sheet.member
        return member.get_full_name() or member.get_username()

    def posting(self, record: ExpenseEntry, book: AccountBook) -> Posting:
        member = self.company_name(record)
        memo = f"{record.expense_type.name}: {record.description}"
        lines = (
            book.debit(record.expense_type.gl_account_id, "expense", record.amount, memo),
            book.credit(None, "reimbursement", record.amount, f"Reimburse {member}"),
        )
        header = PostingHeader(
            type=self.type,
            id=record.pk,
            reference=self.reference(record),
            number=f"EXP-{record.pk}",
            date=record.date,
            company=member,
            company_identifier=record.sheet.member.get_username(),
        )
        return Posting(header=header, lines=lines)
