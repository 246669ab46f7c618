from django.urls import path

from expenses import views

app_name = "expenses"

urlpatterns = [
    path("time-expense/entries/", views.entry_list, name="entry_list"),
    path("time-expense/entries/<int:entry_id>/", views.entry_detail, name="entry_detail"),
    path("time-expense/sheets/<int:sheet_id>/", views.sheet_detail, name="sheet_detail"),
    path("time-expense/sheets/<int:sheet_id>/submit/", views.sheet_submit, name="sheet_submit"),
    path("time-expense/sheets/<int:sheet_id>/approve/", views.sheet_approve, name="sheet_approve"),
    path("time-expense/sheets/<int:sheet_id>/reverse/", views.sheet_reverse, name="sheet_reverse"),
]
