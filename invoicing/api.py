"""Invoices over HTTP (docs/api.md, "Invoices"): each write calls one service of
invoicing.services; unbatch and rebatch call the accounting workflows."""

import django_filters
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounting import door
from accounting.door import GLAccount, TaxCode
from core.api import (
    ApiMixin,
    IdFilter,
    create_schema,
    money_field,
    read_schema,
    step_schema,
)
from core.models import Company
from invoicing import selectors, services
from invoicing.models import Invoice, InvoiceStatus

RECORD_TYPE = "invoice"
VIEW = ("invoicing.view_invoice",)
EDIT_CONFLICTS = ("record_locked", "record_not_open")


class InvoiceLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_price = money_field()
    amount = money_field()
    gl_account = serializers.IntegerField(source="gl_account_id", allow_null=True)
    taxable = serializers.BooleanField()


class InvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    company = serializers.IntegerField(source="company_id")
    date = serializers.DateField()
    due_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(source="status.name", help_text="The status name.")
    is_closed = serializers.BooleanField()
    tax_code = serializers.IntegerField(source="tax_code_id", allow_null=True)
    subtotal = money_field()
    tax = money_field()
    total = money_field()
    gl_batch = door.batch_identifier_field("gl_batch")
    gl_batch_id = serializers.IntegerField(allow_null=True)
    original_batch = door.batch_identifier_field("original_batch")
    original_batch_id = serializers.IntegerField(allow_null=True)
    lines = InvoiceLineSerializer(many=True, source="lines.all")
    created_at = serializers.DateTimeField()
    payment_state = serializers.ChoiceField(
        choices=list(door.PAYMENT_STATES.items()),
        help_text="What the accounting package says was paid (brought back by its connector).",
    )
    amount_paid = money_field(source="paid")
    balance_due = money_field()
    last_paid_on = serializers.DateField(allow_null=True, default=None)


class InvoiceLineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_price = money_field()
    gl_account = serializers.PrimaryKeyRelatedField(
        queryset=GLAccount.objects.all(), required=False, allow_null=True
    )
    taxable = serializers.BooleanField(required=False, default=True)


class InvoiceCreateSerializer(serializers.Serializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all())
    date = serializers.DateField()
    due_date = serializers.DateField(required=False, allow_null=True)
    tax_code = serializers.PrimaryKeyRelatedField(
        queryset=TaxCode.objects.all(), required=False, allow_null=True
    )
    lines = InvoiceLineInputSerializer(many=True)


class InvoiceUpdateSerializer(serializers.Serializer):
    company = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all(), required=False)
    date = serializers.DateField(required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    tax_code = serializers.PrimaryKeyRelatedField(
        queryset=TaxCode.objects.all(), required=False, allow_null=True
    )
    lines = InvoiceLineInputSerializer(many=True, required=False, help_text="Replaces every line.")
    status = serializers.CharField(
        max_length=50,
        required=False,
        help_text="A status name; a closed one given with edits is applied after them.",
    )


class InvoiceFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the number.")
    status = django_filters.CharFilter(
        field_name="status__name", lookup_expr="iexact", help_text="A status name."
    )
    gl_batch = django_filters.CharFilter(
        field_name="gl_batch__batch_identifier", help_text="A batch identifier."
    )
    original_batch = django_filters.CharFilter(field_name="original_batch__batch_identifier")
    company = IdFilter(field_name="company_id")
    is_closed = django_filters.BooleanFilter()
    batched = django_filters.BooleanFilter(
        field_name="gl_batch", lookup_expr="isnull", exclude=True, help_text="In a GL batch."
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    payment = django_filters.ChoiceFilter(
        choices=list(door.PAYMENT_STATES.items()),
        method="filter_payment",
        help_text="paid, partly_paid or unpaid, as the accounting package says.",
    )

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_payment(self, queryset, name: str, value: str):
        return door.filter_payment_state(queryset, value, "total")


@read_schema("List invoices")
@door.batch_actions_schema("invoice")
class InvoiceViewSet(ApiMixin, door.BatchActionsMixin, GenericViewSet):
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    ordering_fields = ["number", "date", "due_date", "total", "id"]
    record_type = RECORD_TYPE
    required_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "audit": VIEW,
        "steps": VIEW,
        "create": ("invoicing.add_invoice",),
        "partial_update": ("invoicing.change_invoice",),
        "unbatch": door.UNBATCH,
        "rebatch": door.UNBATCH,
    }

    def get_queryset(self):
        return selectors.invoice_queryset()

    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        invoice = selectors.invoice_get(invoice_id=record_id)
        return Response(InvoiceSerializer(invoice).data, status=code)

    @create_schema(
        "Create an invoice in status New", InvoiceSerializer, request=InvoiceCreateSerializer
    )
    def create(self, request: Request) -> Response:
        serializer = InvoiceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invoice = services.invoice_create(actor=request.user, **serializer.validated_data)
        return self.record_response(invoice.pk, status.HTTP_201_CREATED)

    @step_schema(
        "Edit an invoice's fields or lines, or set its status",
        InvoiceSerializer,
        conflicts=EDIT_CONFLICTS,
        request=InvoiceUpdateSerializer,
        description="Refused while the invoice is in a GL batch (record_locked: unbatch it "
        "first) or, for edits, while its status is a closed one (record_not_open: set an "
        "open status first).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        invoice = self.get_object()
        serializer = InvoiceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.invoice_update(actor=request.user, invoice=invoice, **serializer.validated_data)
        return self.record_response(invoice.pk)


class InvoiceStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceStatus
        fields = ["id", "name", "is_closed", "sort_order"]


@read_schema("List invoice statuses")
class InvoiceStatusViewSet(ApiMixin, GenericViewSet):
    serializer_class = InvoiceStatusSerializer
    ordering_fields = ["sort_order", "name", "id"]
    filterset_fields = ["is_closed"]
    required_permissions = {
        "list": ("invoicing.view_invoicestatus",),
        "retrieve": ("invoicing.view_invoicestatus",),
    }

    def get_queryset(self):
        return selectors.invoice_status_list()
