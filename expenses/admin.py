"""Setup table of expenses: expense types and their GL accounts. Sheets and entries
change only through the expense screens and services."""

from django.contrib import admin

from expenses.models import ExpenseType


@admin.register(ExpenseType)
class ExpenseTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "gl_account"]
    list_select_related = ["gl_account"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["gl_account"]
