from django.apps import AppConfig


class ExpensesConfig(AppConfig):
    name = "expenses"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py is loaded before any model, and the door
        # and the adapters import models (Django's app-loading order).
        from accounting.records import register
        from expenses.postables import ExpenseKind

        register(ExpenseKind())
