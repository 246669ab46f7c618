"""Purchase orders and their product lines over HTTP (docs/api.md, "Procurement").

A purchase order holds two kinds of postable record: its freight (record type
"freight", the order itself) and each product line ("product"); each is unbatched and
rebatched on its own.
"""

import django_filters
from rest_framework import serializers, status
from rest_framework.decorators import action
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
from procurement import selectors, services
from procurement.models import POStatus, PurchaseOrder, PurchaseOrderLine

FREIGHT_TYPE = services.FREIGHT_TYPE
PRODUCT_TYPE = services.PRODUCT_TYPE


# --- serializers ----------------------------------------------------------------------------


class PurchaseOrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    purchase_order = serializers.IntegerField(source="purchase_order_id")
    position = serializers.IntegerField()
    description = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_cost = money_field()
    amount = money_field(help_text="Quantity times unit cost.")
    total = money_field(help_text="The amount with the order's tax: what the line posts.")
    gl_account = serializers.IntegerField(source="gl_account_id", allow_null=True)
    received = serializers.BooleanField()
    received_date = serializers.DateField(allow_null=True)
    closed = serializers.BooleanField(help_text="The Closed box: ticked when received.")
    gl_batch = door.batch_identifier_field("gl_batch")
    gl_batch_id = serializers.IntegerField(allow_null=True)
    original_batch = door.batch_identifier_field("original_batch")
    original_batch_id = serializers.IntegerField(allow_null=True)


class PurchaseOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    vendor = serializers.IntegerField(source="vendor_id")
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=POStatus.choices)
    is_closed = serializers.SerializerMethodField()
    tax_code = serializers.IntegerField(source="tax_code_id", allow_null=True)
    freight_amount = money_field()
    freight_gl_account = serializers.IntegerField(source="freight_gl_account_id", allow_null=True)
    freight_gl_batch = door.batch_identifier_field("freight_gl_batch")
    freight_gl_batch_id = serializers.IntegerField(allow_null=True)
    freight_original_batch = door.batch_identifier_field("freight_original_batch")
    freight_original_batch_id = serializers.IntegerField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    lines = PurchaseOrderLineSerializer(many=True, source="lines.all")

    def get_is_closed(self, purchase_order: PurchaseOrder) -> bool:
        return not purchase_order.is_open()


class PurchaseOrderLineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2)
    unit_cost = money_field()
    gl_account = serializers.PrimaryKeyRelatedField(
        queryset=GLAccount.objects.all(), required=False, allow_null=True
    )


class PurchaseOrderCreateSerializer(serializers.Serializer):
    vendor = serializers.PrimaryKeyRelatedField(queryset=Company.objects.all())
    date = serializers.DateField()
    tax_code = serializers.PrimaryKeyRelatedField(
        queryset=TaxCode.objects.all(), required=False, allow_null=True
    )
    freight_amount = money_field(required=False)
    freight_gl_account = serializers.PrimaryKeyRelatedField(
        queryset=GLAccount.objects.all(), required=False, allow_null=True
    )
    lines = PurchaseOrderLineInputSerializer(many=True, required=False)


class PurchaseOrderUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=POStatus.choices,
        required=False,
        help_text="closed makes the freight ready to post; open reopens the order.",
    )
    freight_amount = money_field(required=False)
    tax_code = serializers.PrimaryKeyRelatedField(
        queryset=TaxCode.objects.all(), required=False, allow_null=True
    )
    freight_gl_account = serializers.PrimaryKeyRelatedField(
        queryset=GLAccount.objects.all(), required=False, allow_null=True
    )


class PurchaseOrderLineCreateSerializer(PurchaseOrderLineInputSerializer):
    purchase_order = serializers.PrimaryKeyRelatedField(queryset=PurchaseOrder.objects.all())


class PurchaseOrderLineUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=500, required=False)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    unit_cost = money_field(required=False)
    gl_account = serializers.PrimaryKeyRelatedField(
        queryset=GLAccount.objects.all(), required=False, allow_null=True
    )
    closed = serializers.BooleanField(required=False, help_text="The Closed box.")


class ReceiveSerializer(serializers.Serializer):
    received_date = serializers.DateField(required=False, help_text="Today when left out.")


# --- purchase orders ---------------------------------------------------------------------------


class PurchaseOrderFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the number.")
    vendor = IdFilter(field_name="vendor_id")
    status = django_filters.ChoiceFilter(choices=POStatus.choices)
    freight_gl_batch = django_filters.CharFilter(
        field_name="freight_gl_batch__batch_identifier", help_text="A batch identifier."
    )
    freight_original_batch = django_filters.CharFilter(
        field_name="freight_original_batch__batch_identifier"
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = PurchaseOrder
        fields: list[str] = []


@read_schema("List purchase orders")
class PurchaseOrderViewSet(ApiMixin, door.BatchStepsMixin, GenericViewSet):
    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    ordering_fields = ["number", "date", "freight_amount", "id"]
    record_type = FREIGHT_TYPE  # its postable record, and its audit trail, are the freight
    required_permissions = {
        "list": ("procurement.view_purchaseorder",),
        "retrieve": ("procurement.view_purchaseorder",),
        "audit": ("procurement.view_purchaseorder",),
        "steps": ("procurement.view_purchaseorder",),
        "create": ("procurement.add_purchaseorder",),
        "partial_update": ("procurement.change_purchaseorder",),
        "unbatch_freight": door.UNBATCH,
        "rebatch_freight": door.UNBATCH,
    }

    def get_queryset(self):
        return selectors.purchase_order_queryset()

    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        purchase_order = selectors.purchase_order_get(purchase_order_id=record_id)
        return Response(PurchaseOrderSerializer(purchase_order).data, status=code)

    @create_schema(
        "Create an open purchase order with its product lines",
        PurchaseOrderSerializer,
        request=PurchaseOrderCreateSerializer,
    )
    def create(self, request: Request) -> Response:
        serializer = PurchaseOrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        purchase_order = services.purchase_order_create(
            actor=request.user, **serializer.validated_data
        )
        return self.record_response(purchase_order.pk, status.HTTP_201_CREATED)

    @step_schema(
        "Close or reopen the order, edit its freight, change its tax code",
        PurchaseOrderSerializer,
        conflicts=["record_locked", "record_not_open", "products_not_unreceived"],
        request=PurchaseOrderUpdateSerializer,
        description="Reopening and freight edits are refused while the freight is in a GL "
        "batch (record_locked); freight edits need the order open (record_not_open); the "
        "tax code also needs every product line reopened and unreceived "
        "(products_not_unreceived).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        purchase_order = self.get_object()
        serializer = PurchaseOrderUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.purchase_order_update(
            actor=request.user, purchase_order=purchase_order, **serializer.validated_data
        )
        return self.record_response(purchase_order.pk)

    @door.unbatch_schema(PurchaseOrderSerializer, "freight")
    @action(detail=True, methods=["post"], url_path="unbatch-freight")
    def unbatch_freight(self, request: Request, pk: str) -> Response:
        return self.unbatch_step()

    @door.rebatch_schema(PurchaseOrderSerializer, "freight")
    @action(detail=True, methods=["post"], url_path="rebatch-freight")
    def rebatch_freight(self, request: Request, pk: str) -> Response:
        return self.rebatch_step()


# --- product lines -----------------------------------------------------------------------------


class PurchaseOrderLineFilter(django_filters.FilterSet):
    purchase_order = IdFilter(field_name="purchase_order_id")
    received = django_filters.BooleanFilter()
    closed = django_filters.BooleanFilter()
    gl_batch = django_filters.CharFilter(
        field_name="gl_batch__batch_identifier", help_text="A batch identifier."
    )
    original_batch = django_filters.CharFilter(field_name="original_batch__batch_identifier")

    class Meta:
        model = PurchaseOrderLine
        fields: list[str] = []


@read_schema("List product lines")
@door.batch_actions_schema("product line")
class PurchaseOrderLineViewSet(ApiMixin, door.BatchActionsMixin, GenericViewSet):
    serializer_class = PurchaseOrderLineSerializer
    filterset_class = PurchaseOrderLineFilter
    ordering_fields = ["purchase_order", "position", "received_date", "amount", "id"]
    record_type = PRODUCT_TYPE
    required_permissions = {
        "list": ("procurement.view_purchaseorderline",),
        "retrieve": ("procurement.view_purchaseorderline",),
        "audit": ("procurement.view_purchaseorderline",),
        "steps": ("procurement.view_purchaseorderline",),
        "create": ("procurement.add_purchaseorderline",),
        "partial_update": ("procurement.change_purchaseorderline",),
        "receive": ("procurement.change_purchaseorderline",),
        "unreceive": ("procurement.change_purchaseorderline",),
        "unbatch": door.UNBATCH,
        "rebatch": door.UNBATCH,
    }

    def get_queryset(self):
        return selectors.purchase_order_line_queryset().order_by(
            "purchase_order_id", "position", "id"
        )

    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        line = selectors.purchase_order_line_get(line_id=record_id)
        return Response(PurchaseOrderLineSerializer(line).data, status=code)

    @create_schema(
        "Add a product line to an open purchase order",
        PurchaseOrderLineSerializer,
        request=PurchaseOrderLineCreateSerializer,
        conflicts=["record_not_open"],
    )
    def create(self, request: Request) -> Response:
        serializer = PurchaseOrderLineCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = services.purchase_order_line_add(actor=request.user, **serializer.validated_data)
        return self.record_response(line.pk, status.HTTP_201_CREATED)

    @step_schema(
        "Edit a product line, or tick or clear its Closed box",
        PurchaseOrderLineSerializer,
        conflicts=("record_locked", "record_not_open", "record_not_ready"),
        request=PurchaseOrderLineUpdateSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        line = self.get_object()
        serializer = PurchaseOrderLineUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.purchase_order_line_update(
            actor=request.user, line=line, **serializer.validated_data
        )
        return self.record_response(line.pk)

    @step_schema(
        "Receive the line (received, Closed ticked): ready to post",
        PurchaseOrderLineSerializer,
        conflicts=("record_locked", "invalid_transition"),
        request=ReceiveSerializer,
    )
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, pk: str) -> Response:
        line = self.get_object()
        serializer = ReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.purchase_order_line_receive(
            actor=request.user, line=line, **serializer.validated_data
        )
        return self.record_response(line.pk)

    @step_schema(
        "Unreceive the line (its Closed box must be clear)",
        PurchaseOrderLineSerializer,
        conflicts=("record_locked", "invalid_transition"),
    )
    @action(detail=True, methods=["post"])
    def unreceive(self, request: Request, pk: str) -> Response:
        line = self.get_object()
        services.purchase_order_line_unreceive(actor=request.user, line=line)
        return self.record_response(line.pk)
