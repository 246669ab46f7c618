from django.apps import AppConfig

from core import web


class ExpensesConfig(AppConfig):
    name = "expenses"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before any model, and the door
        # and the adapters import models (Django's app-loading order).
        from accounting.door import register
        from expenses.postables import ExpenseKind

        register(ExpenseKind())
        # A sheet is no postable kind, but refusals and trails link to its page.
        web.register_record_page("expense_sheet", "expenses:sheet_detail")
