"""The finance API at `/<codebase>/apis/3.0/` and `/apis/3.0/`, its OpenAPI document
at `.../apis/3.0/openapi/`, and `/login/companyinfo/<company>`."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from cwapi import api, resources
from cwapi.api import CODEBASE


def _list(prefix: str, resource, name: str, taxable: tuple[str, ...] = ()) -> list:
    patterns = [
        path(prefix, api.ListView.as_view(resource=resource, resource_name=name)),
        path(f"{prefix}/count", api.CountView.as_view(resource=resource, resource_name=name)),
        path(f"{prefix}/<str:pk>", api.DetailView.as_view(resource=resource, resource_name=name)),
    ]
    if taxable:
        patterns.append(
            path(
                f"{prefix}/<str:pk>/taxableLevels",
                api.TaxableLevelsView.as_view(record_types=taxable),
            )
        )
    return patterns


ACCOUNTING = "finance/accounting"

finance = [
    *_list(
        f"{ACCOUNTING}/unpostedinvoices",
        resources.UNPOSTED_INVOICES,
        "unpostedInvoice",
        ("invoice",),
    ),
    *_list(
        f"{ACCOUNTING}/unpostedexpenses",
        resources.UNPOSTED_EXPENSES,
        "unpostedExpense",
        ("expense",),
    ),
    *_list(
        f"{ACCOUNTING}/unpostedprocurement",
        resources.UNPOSTED_PROCUREMENT,
        "unpostedProcurement",
        ("product", "freight"),
    ),
    path(f"{ACCOUNTING}/export", api.ExportView.as_view()),
    path(f"{ACCOUNTING}/batches", api.BatchListView.as_view()),
    path(
        f"{ACCOUNTING}/batches/count",
        api.CountView.as_view(resource=resources.BATCHES, resource_name="accountingBatch"),
    ),
    path(f"{ACCOUNTING}/batches/<str:pk>", api.BatchDetailView.as_view()),
    path(f"{ACCOUNTING}/batches/<str:pk>/export", api.BatchExportView.as_view()),
    path(f"{ACCOUNTING}/batches/<str:pk>/entries", api.BatchEntriesView.as_view()),
    path(
        f"{ACCOUNTING}/batches/<str:pk>/entries/count", api.BatchEntriesView.as_view(counting=True)
    ),
    path(f"{ACCOUNTING}/batches/<str:pk>/entries/<str:entry_id>", api.BatchEntriesView.as_view()),
    path("finance/accountingPackageSetup", api.SetupListView.as_view()),
    path("finance/accountingPackageSetup/<str:pk>", api.SetupDetailView.as_view()),
    path("finance/accountingPackages", api.PackageListView.as_view()),
    path("finance/accountingPackages/<str:pk>", api.PackageListView.as_view()),
    path(
        "openapi/",
        SpectacularAPIView.as_view(
            urlconf="cwapi.urls",
            custom_settings={
                "TITLE": "ConnectWise-compatible finance API",
                "DESCRIPTION": "ConnectWise PSA's finance/accounting endpoints (docs/cw-api.md): "
                "Basic auth company+publicKey:privateKey and a clientId header.",
                "VERSION": "3.0",
                "SCHEMA_PATH_PREFIX": "/apis/3.0/",
                "PREPROCESSING_HOOKS": ["cwapi.schema.finance_api_endpoints"],
            },
        ),
        name="cw-openapi",
    ),
]

urlpatterns = [
    path("apis/3.0/", include(finance)),
    path(f"{CODEBASE}/apis/3.0/", include(finance)),
    path("login/companyinfo/<str:company>", api.CompanyInfoView.as_view()),
]
