"""The endpoints of the finance API (docs/cw-api.md). Each validates its input, calls
one accounting service or selector (through `listing`, `glexport`, `entries`) and
renders ConnectWise's model; every error leaves through `cwapi.errors`."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting import selectors, services
from accounting.gl import AccountBook
from accounting.models import GLBatch
from accounting.postables import batched_rows, get_kind, kinds
from core.api import JSONParser
from cwapi import entries, listing, resources, setup
from cwapi.authentication import MemberKeyAuthentication
from cwapi.errors import CwError, exception_handler, invalid
from cwapi.glexport import gl_export
from cwapi.listing import Context
from cwapi.shapes import money, procurement_id, procurement_record

CODEBASE = "v4_6_release"
API_ROOT = "apis/3.0/"


class FinanceRole(BasePermission):
    """Finance (anyone who may create and transfer GL batches) for everything here."""

    message = "This API member's role does not allow the finance endpoints (Finance only)."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("accounting.transfer_glbatch"))


class CwView(APIView):
    authentication_classes = [MemberKeyAuthentication]
    permission_classes = [FinanceRole]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    resource_name = ""
    resource: listing.Resource | None = None

    def get_exception_handler(self):
        return exception_handler

    def context(self) -> Context:
        path = self.request.path
        root = path[: path.find(API_ROOT) + len(API_ROOT)]
        return Context(base=self.request.build_absolute_uri(root))


def _id(value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CwError(404, f"There is no {what} with id {value}.") from None
    if not 0 < number < 2**63:
        raise CwError(404, f"There is no {what} with id {value}.")
    return number


# --- lists -------------------------------------------------------------------------------------


class ListView(CwView):
    @extend_schema(responses={200: OpenApiResponse(description="A page of the list.")})
    def get(self, request: Request) -> Response:
        rows, link = listing.page(self.resource, request, self.context())
        response = Response(rows)
        response["Link"] = link
        return response


class CountView(CwView):
    @extend_schema(responses={200: OpenApiResponse(description='{"count": n}')})
    def get(self, request: Request) -> Response:
        return Response({"count": listing.count(self.resource, request)})


class DetailView(CwView):
    @extend_schema(responses={200: OpenApiResponse(description="One record.")})
    def get(self, request: Request, pk: str) -> Response:
        row = listing.by_id(self.resource, _id(pk, self.resource.name), self.context())
        if row is None:
            raise CwError(404, f"There is no {self.resource.name} with id {pk}.")
        return Response(listing.cut_to_fields(row, request.query_params.get("fields", "")))


class TaxableLevelsView(CwView):
    """`{id, taxLevel, taxCodeXref, taxAmount}` of an unposted record."""

    record_types: tuple[str, ...] = ()

    @extend_schema(responses={200: OpenApiResponse(description="The record's tax levels.")})
    def get(self, request: Request, pk: str) -> Response:
        cw_id = _id(pk, "record")
        record_type, record_id = (
            procurement_record(cw_id)
            if len(self.record_types) > 1
            else (self.record_types[0], cw_id)
        )
        if record_type not in self.record_types:
            raise CwError(404, f"There is no record with id {pk}.")
        record = selectors.unposted_list(record_type=record_type).filter(pk=record_id).first()
        if record is None:
            raise CwError(404, f"There is no unposted {record_type} with id {pk}.")
        posting = get_kind(record_type).posting(record, AccountBook())
        tax_lines = [line for line in posting.lines if line.account_type == "sales_tax"]
        levels = [
            {
                "id": index + 1,
                "taxLevel": index + 1,
                "taxCodeXref": line.account_number,
                "taxAmount": money(line.credit or line.debit),
            }
            for index, line in enumerate(tax_lines)
        ]
        return Response(levels)


# --- the GL export -------------------------------------------------------------------------------


class ExportRequestSerializer(serializers.Serializer):
    batchIdentifier = serializers.CharField(max_length=50, required=False, allow_blank=True)
    glInterfaceIdentifier = serializers.CharField(max_length=50, required=False, allow_blank=True)
    thruDate = serializers.DateTimeField(required=False, allow_null=True)
    locationId = serializers.IntegerField(required=False, allow_null=True)
    summarizeInvoices = serializers.ChoiceField(
        ["Default", "Condensed", "Detailed"], required=False, allow_null=True
    )
    exportInvoicesFlag = serializers.BooleanField(required=False, default=False)
    includedInvoiceIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False
    )
    excludedInvoiceIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False
    )
    exportExpensesFlag = serializers.BooleanField(required=False, default=False)
    includedExpenseIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False
    )
    excludedExpenseIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), required=False
    )
    exportProductsFlag = serializers.BooleanField(required=False, default=False)
    includedProductIds = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False
    )
    excludedProductIds = serializers.ListField(
        child=serializers.CharField(max_length=30), required=False
    )
    exportPaymentsFlag = serializers.BooleanField(required=False, default=False)
    includedPaymentIds = serializers.ListField(child=serializers.IntegerField(), required=False)


def _product_ids(texts: list[str], field: str) -> dict[str, list[int]]:
    chosen: dict[str, list[int]] = {"product": [], "freight": []}
    for text in texts:
        if not text.strip().isdigit() or not 0 < int(text) < 2**62:
            raise invalid(f"{field}: {text!r} is not an unpostedProductId.", field=field)
        record_type, pk = procurement_record(int(text))
        chosen[record_type].append(pk)
    return chosen


def _chosen(record_type: str, included: list[int], excluded: list[int], thru: dt.date | None):
    kind = get_kind(record_type)
    rows = selectors.unposted_list(record_type=record_type, thru_date=None if included else thru)
    if included:
        rows = rows.filter(pk__in=included)
        found = set(rows.values_list("pk", flat=True))
        for pk in included:
            if pk in found:
                continue
            record = kind.queryset().filter(pk=pk).first()
            shown = procurement_id(record_type, pk) if record_type in ("product", "freight") else pk
            if record is None:
                raise CwError(
                    400,
                    f"There is no {kind.label.lower()} with id {shown}.",
                    errors=[
                        {
                            "code": "not_found",
                            "message": f"No {kind.label.lower()} {shown}.",
                            "resource": record_type,
                            "field": str(shown),
                        }
                    ],
                )
            batch = getattr(record, kind.batch_field)
            if batch is not None:
                message = (
                    f"{kind.reference(record)} is already in GL batch "
                    f"{batch.batch_identifier}; it is not unposted."
                )
                code = "already_batched"
            else:
                message = kind.not_ready_reason(record)
                code = "record_not_ready"
            raise CwError(
                400,
                message,
                errors=[
                    {"code": code, "message": message, "resource": record_type, "field": str(shown)}
                ],
            )
    if excluded:
        rows = rows.exclude(pk__in=excluded)
    return rows


def _export_rows(data: dict[str, Any]) -> dict[str, Any]:
    thru = data.get("thruDate")
    thru_date = thru.astimezone(dt.UTC).date() if thru else None
    rows = {}
    if data["exportInvoicesFlag"] or data.get("includedInvoiceIds"):
        rows["invoice"] = _chosen(
            "invoice",
            data.get("includedInvoiceIds", []),
            data.get("excludedInvoiceIds", []),
            thru_date,
        )
    if data["exportExpensesFlag"] or data.get("includedExpenseIds"):
        rows["expense"] = _chosen(
            "expense",
            data.get("includedExpenseIds", []),
            data.get("excludedExpenseIds", []),
            thru_date,
        )
    if data["exportProductsFlag"] or data.get("includedProductIds"):
        included = _product_ids(data.get("includedProductIds", []), "includedProductIds")
        excluded = _product_ids(data.get("excludedProductIds", []), "excludedProductIds")
        some = any(included.values())
        for record_type in ("product", "freight"):
            if some and not included[record_type]:
                continue
            rows[record_type] = _chosen(
                record_type, included[record_type], excluded[record_type], thru_date
            )
    return rows


class ExportView(CwView):
    resource_name = "glExport"

    @extend_schema(
        request=ExportRequestSerializer, responses={200: OpenApiResponse(description="GLExport")}
    )
    def post(self, request: Request) -> Response:
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            export = gl_export(_export_rows(data), self.context())
        return Response(export)


# --- batches ---------------------------------------------------------------------------------


class CreateBatchSerializer(serializers.Serializer):
    processedRecordIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        allow_empty=False,
        max_length=200_000,
    )
    batchIdentifier = serializers.CharField(max_length=50, required=False, allow_blank=True)
    glInterfaceIdentifier = serializers.CharField(max_length=50, required=False, allow_blank=True)
    exportInvoicesFlag = serializers.BooleanField(required=False, default=False)
    exportExpensesFlag = serializers.BooleanField(required=False, default=False)
    exportProductsFlag = serializers.BooleanField(required=False, default=False)
    summarizeExpenses = serializers.CharField(required=False, allow_blank=True)


def _batch_rows(batch: GLBatch) -> dict[str, Any]:
    return {kind.type: batched_rows(kind, batch.pk) for kind in kinds()}


class BatchListView(ListView):
    resource = resources.BATCHES
    resource_name = "accountingBatch"

    @extend_schema(
        request=CreateBatchSerializer, responses={201: OpenApiResponse(description="GLExport")}
    )
    def post(self, request: Request) -> Response:
        serializer = CreateBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            listed = entries.records_of_entries(data["processedRecordIds"])
            batch = services.batch_record_external(
                actor=request.user,
                records=[services.SentRecord(r.type, r.id, r.fingerprint) for r in listed],
                batch_identifier=data.get("batchIdentifier") or None,
            )
            export = gl_export(_batch_rows(batch), self.context())
        return Response(export, status=201)


class BatchDetailView(DetailView):
    resource = resources.BATCHES
    resource_name = "accountingBatch"

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        batch_id = _id(pk, "accountingBatch")
        if not GLBatch.objects.filter(pk=batch_id).exclude(status="deleted").exists():
            raise CwError(404, f"There is no accountingBatch with id {pk}.")
        services.batch_delete(actor=request.user, batch_id=batch_id)
        return Response(status=204)


def _live_batch(pk: str) -> GLBatch:
    batch = GLBatch.objects.filter(pk=_id(pk, "accountingBatch")).exclude(status="deleted").first()
    if batch is None:
        raise CwError(404, f"There is no accountingBatch with id {pk}.")
    return batch


class BatchExportView(CwView):
    resource_name = "glExport"

    @extend_schema(
        request=ExportRequestSerializer, responses={200: OpenApiResponse(description="GLExport")}
    )
    def post(self, request: Request, pk: str) -> Response:
        batch = _live_batch(pk)
        serializer = ExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            export = gl_export(_batch_rows(batch), self.context())
        return Response(export)


class BatchEntriesView(CwView):
    """A batch's GL lines: a list like the others (conditions, orderBy, paging, count)."""

    resource_name = "batchEntry"
    counting = False

    @extend_schema(responses={200: OpenApiResponse(description="BatchEntry list")})
    def get(self, request: Request, pk: str, entry_id: str | None = None) -> Response:
        batch = _live_batch(pk)
        with transaction.atomic():
            resource = resources.batch_entries(batch)
            if self.counting:
                return Response({"count": listing.count(resource, request)})
            if entry_id is not None:
                row = listing.by_id(resource, _id(entry_id, "batchEntry"), self.context())
                if row is None:
                    raise CwError(404, f"Batch {batch.batch_identifier} has no entry {entry_id}.")
                return Response(listing.cut_to_fields(row, request.query_params.get("fields", "")))
            rows, link = listing.page(resource, request, self.context())
        response = Response(rows)
        response["Link"] = link
        return response


# --- the accounting package setup --------------------------------------------------------------


class SetupListView(CwView):
    resource_name = "accountingPackageSetup"

    @extend_schema(responses={200: OpenApiResponse(description="[AccountingPackageSetup]")})
    def get(self, request: Request) -> Response:
        return Response([setup.setup_model(self.context())])


class SetupDetailView(CwView):
    resource_name = "accountingPackageSetup"

    def _check(self, pk: str) -> None:
        if _id(pk, "accountingPackageSetup") != setup.SETUP_ID:
            raise CwError(404, f"There is no accountingPackageSetup with id {pk}.")

    @extend_schema(responses={200: OpenApiResponse(description="AccountingPackageSetup")})
    def get(self, request: Request, pk: str) -> Response:
        self._check(pk)
        return Response(setup.setup_model(self.context()))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(description="AccountingPackageSetup")},
    )
    def put(self, request: Request, pk: str) -> Response:
        self._check(pk)
        return Response(setup.setup_put(request.user, request.data, self.context()))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(description="AccountingPackageSetup")},
    )
    def patch(self, request: Request, pk: str) -> Response:
        self._check(pk)
        return Response(setup.setup_patch(request.user, request.data, self.context()))


class PackageListView(CwView):
    resource_name = "accountingPackage"

    @extend_schema(responses={200: OpenApiResponse(description="[{id, identifier, name}]")})
    def get(self, request: Request, pk: str | None = None) -> Response:
        packages = setup.packages()
        if pk is None:
            return Response(packages)
        found = next((p for p in packages if p["id"] == _id(pk, "accountingPackage")), None)
        if found is None:
            raise CwError(404, f"There is no accountingPackage with id {pk}.")
        return Response(found)


# --- /login/companyinfo/<company> --------------------------------------------------------------


class CompanyInfoView(APIView):
    """What a client asks first to find the codebase; no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return exception_handler

    @extend_schema(responses={200: OpenApiResponse(description="Company info")}, auth=[])
    def get(self, request: Request, company: str) -> Response:
        if company.casefold() != settings.CW_COMPANY_ID.casefold():
            raise CwError(404, f"There is no company {company} here.")
        return Response(
            {
                "CompanyName": settings.CW_COMPANY_ID,
                "Codebase": f"{CODEBASE}/",
                "VersionCode": "v2026.1",
                "VersionNumber": "v4.6.0",
                "CompanyID": settings.CW_COMPANY_ID,
                "IsCloud": False,
                "SiteUrl": request.get_host(),
            }
        )
