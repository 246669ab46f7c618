from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("finance/invoices/", views.invoice_list, name="invoice_list"),
    path("finance/invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
]
