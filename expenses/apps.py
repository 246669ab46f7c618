from django.apps import AppConfig


class ExpensesConfig(AppConfig):
    name = "expenses"

    def ready(self) -> None:
        from accounting.postables import register
        from expenses.postables import ExpenseKind

        register(ExpenseKind())
