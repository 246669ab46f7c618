"""The REST API (docs/api.md) under /api/: version 1, its OpenAPI schema and its docs."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from accounting import api as accounting_api
from core import auth_api, company_api
from core.api import not_found_view
from expenses import api as expenses_api
from invoicing import api as invoicing_api
from procurement import api as procurement_api

app_name = "api"

router = SimpleRouter()
router.register("companies", company_api.CompanyViewSet, basename="company")
router.register("accounting/gl-accounts", accounting_api.GLAccountViewSet, basename="gl-account")
router.register("accounting/tax-codes", accounting_api.TaxCodeViewSet, basename="tax-code")
router.register("accounting/batches", accounting_api.BatchViewSet, basename="batch")
router.register(
    "accounting/reconciliations", accounting_api.ReconciliationViewSet, basename="reconciliation"
)
router.register(
    "accounting/reconciliation-differences",
    accounting_api.DifferenceViewSet,
    basename="reconciliation-difference",
)
router.register("expense-types", expenses_api.ExpenseTypeViewSet, basename="expense-type")
router.register("invoice-statuses", invoicing_api.InvoiceStatusViewSet, basename="invoice-status")
router.register("invoices", invoicing_api.InvoiceViewSet, basename="invoice")
router.register("expense-sheets", expenses_api.ExpenseSheetViewSet, basename="expense-sheet")
router.register("expense-entries", expenses_api.ExpenseEntryViewSet, basename="expense-entry")
router.register("purchase-orders", procurement_api.PurchaseOrderViewSet, basename="purchase-order")
router.register(
    "purchase-order-lines",
    procurement_api.PurchaseOrderLineViewSet,
    basename="purchase-order-line",
)

version_1 = [
    path("auth/token/", auth_api.TokenView.as_view(), name="token"),
    path("auth/token/revoke/", auth_api.TokenRevokeView.as_view(), name="token-revoke"),
    path("auth/tokens/", auth_api.TokenListView.as_view(), name="tokens"),
    path("accounting/setup/", accounting_api.SetupView.as_view(), name="setup"),
    path("accounting/setup/audit/", accounting_api.SetupAuditView.as_view(), name="setup-audit"),
    path(
        "accounting/setup/restore-options/",
        accounting_api.SetupRestoreOptionsView.as_view(),
        name="setup-restore-options",
    ),
    path(
        "accounting/setup/test-connection/",
        accounting_api.SetupTestConnectionView.as_view(),
        name="setup-test-connection",
    ),
    path("accounting/unposted/", accounting_api.UnpostedView.as_view(), name="unposted"),
    *router.urls,
]


# The docs pages' own Content-Security-Policy: still no inline script (Swagger UI's
# start script is served as a file by the split view), but Swagger UI's page and Redoc
# style themselves inline, and Redoc runs its search in a worker made from a blob.
DOCS_POLICY = {"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}


def docs_page(view: Callable) -> Callable:
    """An interactive docs page: a visitor who is not signed in is sent to sign in
    first, unless the docs are public (API_DOCS_PUBLIC)."""

    @wraps(view)
    @csp_update(DOCS_POLICY)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return page


urlpatterns = [
    path("v1/", include(version_1)),
    # The schema answers 401 in the API's shape (core.api.DocsPermission).
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        docs_page(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    path(
        "redoc/",
        docs_page(SpectacularRedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
    re_path(r"^.*$", not_found_view),
]
