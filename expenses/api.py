"""Expense sheets and entries over HTTP (docs/api.md, "Expenses").

Staff and Approvers create, edit and submit their own sheets and entries; Finance those
of every member; Approvers see every sheet so they can approve and reverse them (never
their own: the service refuses that). Others' sheets stay out of a Staff member's lists.
"""

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounting import door
from core.api import (
    ApiMixin,
    IdFilter,
    ReferenceDataMixin,
    create_schema,
    money_field,
    read_schema,
    reference_schema,
    step_schema,
)
from core.models import Company
from expenses import selectors, services
from expenses.models import ExpenseEntry, ExpenseSheet, ExpenseType, SheetStatus

ENTRY_TYPE = services.ENTRY_TYPE
SHEET_TYPE = services.SHEET_TYPE
APPROVE = ("expenses.approve_expensesheet",)


# --- serializers ----------------------------------------------------------------------------


class ExpenseEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sheet = serializers.IntegerField(source="sheet_id")
    date = serializers.DateField()
    expense_type = serializers.IntegerField(source="expense_type_id")
    amount = money_field()
    description = serializers.CharField()
    billable = serializers.BooleanField()
    company = serializers.IntegerField(source="company_id", allow_null=True)
    is_approved = serializers.BooleanField(help_text="Its sheet is approved: ready to post.")
    gl_batch = door.batch_identifier_field("gl_batch")
    gl_batch_id = serializers.IntegerField(allow_null=True)
    original_batch = door.batch_identifier_field("original_batch")
    original_batch_id = serializers.IntegerField(allow_null=True)


class ExpenseSheetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    member_name = serializers.CharField(source="member.username")
    status = serializers.ChoiceField(choices=SheetStatus.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    approved_by = serializers.IntegerField(source="approved_by_id", allow_null=True)
    entries = ExpenseEntrySerializer(many=True, source="entries.all")


class ExpenseSheetCreateSerializer(serializers.Serializer):
    member = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="The member whose expenses these are; the caller when left out.",
    )
    period_start = serializers.DateField()
    period_end = serializers.DateField()


class ExpenseEntryCreateSerializer(serializers.Serializer):
    sheet = serializers.PrimaryKeyRelatedField(queryset=ExpenseSheet.objects.all())
    date = serializers.DateField()
    expense_type = serializers.PrimaryKeyRelatedField(queryset=ExpenseType.objects.all())
    amount = money_field()
    description = serializers.CharField(max_length=500)
    billable = serializers.BooleanField(required=False, default=False)
    company = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.all(), required=False, allow_null=True
    )

    def __init__(self, *args: Any, sheets=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sheets is not None:  # only sheets the caller may see
            self.fields["sheet"].queryset = sheets


class ExpenseEntryUpdateSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    expense_type = serializers.PrimaryKeyRelatedField(
        queryset=ExpenseType.objects.all(), required=False
    )
    amount = money_field(required=False)
    description = serializers.CharField(max_length=500, required=False)
    billable = serializers.BooleanField(required=False)
    company = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.all(), required=False, allow_null=True
    )


# --- sheets -----------------------------------------------------------------------------------


class ExpenseSheetFilter(django_filters.FilterSet):
    member = IdFilter(field_name="member_id")
    status = django_filters.ChoiceFilter(choices=SheetStatus.choices)
    period_from = django_filters.DateFilter(field_name="period_end", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = ExpenseSheet
        fields: list[str] = []


def _sheet_step_schema(summary: str) -> Any:
    return step_schema(summary, ExpenseSheetSerializer, conflicts=("invalid_transition",))


@read_schema("List expense sheets (a Staff member sees their own)")
class ExpenseSheetViewSet(ApiMixin, door.AuditTrailMixin, GenericViewSet):
    serializer_class = ExpenseSheetSerializer
    filterset_class = ExpenseSheetFilter
    ordering_fields = ["period_start", "period_end", "status", "id"]
    record_type = SHEET_TYPE
    required_permissions = {
        "list": ("expenses.view_expensesheet",),
        "retrieve": ("expenses.view_expensesheet",),
        "audit": ("expenses.view_expensesheet",),
        "create": ("expenses.add_expensesheet",),
        "submit": ("expenses.change_expensesheet",),
        "approve": APPROVE,
        "reverse": APPROVE,
    }

    def get_queryset(self):
        return selectors.visible_sheets(self.request.user, selectors.expense_sheet_queryset())

    def _sheet(self, sheet_id: int, code: int = status.HTTP_200_OK) -> Response:
        sheet = selectors.expense_sheet_get(sheet_id=sheet_id)
        return Response(ExpenseSheetSerializer(sheet).data, status=code)

    @create_schema(
        "Create an open expense sheet", ExpenseSheetSerializer, request=ExpenseSheetCreateSerializer
    )
    def create(self, request: Request) -> Response:
        serializer = ExpenseSheetCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = serializer.validated_data.get("member", request.user)
        sheet = services.expense_sheet_create(
            actor=request.user,
            member=member,
            period_start=serializer.validated_data["period_start"],
            period_end=serializer.validated_data["period_end"],
        )
        return self._sheet(sheet.pk, status.HTTP_201_CREATED)

    @_sheet_step_schema("Submit the sheet (open -> submitted)")
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        sheet = self.get_object()
        services.expense_sheet_submit(actor=request.user, sheet=sheet)
        return self._sheet(sheet.pk)

    @_sheet_step_schema("Approve the sheet (submitted -> approved); never one's own")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        sheet = self.get_object()
        services.expense_sheet_approve(actor=request.user, sheet=sheet)
        return self._sheet(sheet.pk)

    @_sheet_step_schema("Reverse the sheet (approved -> open); batched entries stay locked")
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str) -> Response:
        sheet = self.get_object()
        services.expense_sheet_reverse(actor=request.user, sheet=sheet)
        return self._sheet(sheet.pk)


# --- entries ----------------------------------------------------------------------------------


class ExpenseEntryFilter(django_filters.FilterSet):
    sheet = IdFilter(field_name="sheet_id")
    member = IdFilter(field_name="sheet__member_id")
    expense_type = IdFilter(field_name="expense_type_id")
    is_approved = django_filters.BooleanFilter()
    gl_batch = django_filters.CharFilter(
        field_name="gl_batch__batch_identifier", help_text="A batch identifier."
    )
    original_batch = django_filters.CharFilter(field_name="original_batch__batch_identifier")
    batched = django_filters.BooleanFilter(
        field_name="gl_batch", lookup_expr="isnull", exclude=True, help_text="In a GL batch."
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = ExpenseEntry
        fields: list[str] = []


@read_schema("List expense entries (a Staff member sees their own)")
@door.batch_actions_schema("expense entry")
class ExpenseEntryViewSet(ApiMixin, door.BatchActionsMixin, GenericViewSet):
    serializer_class = ExpenseEntrySerializer
    filterset_class = ExpenseEntryFilter
    ordering_fields = ["date", "amount", "id"]
    record_type = ENTRY_TYPE
    required_permissions = {
        "list": ("expenses.view_expenseentry",),
        "retrieve": ("expenses.view_expenseentry",),
        "audit": ("expenses.view_expenseentry",),
        "steps": ("expenses.view_expenseentry",),
        "create": ("expenses.add_expenseentry",),
        "partial_update": ("expenses.change_expenseentry",),
        "unbatch": door.UNBATCH,
        "rebatch": door.UNBATCH,
    }

    def get_queryset(self):
        return selectors.visible_entries(self.request.user, selectors.expense_entry_queryset())

    def record_response(self, record_id: int, code: int = status.HTTP_200_OK) -> Response:
        entry = selectors.expense_entry_get(entry_id=record_id)
        return Response(ExpenseEntrySerializer(entry).data, status=code)

    @create_schema(
        "Add an entry to an open expense sheet",
        ExpenseEntrySerializer,
        request=ExpenseEntryCreateSerializer,
        conflicts=["record_not_open"],
    )
    def create(self, request: Request) -> Response:
        user = request.user
        sheets = selectors.visible_sheets(user)
        serializer = ExpenseEntryCreateSerializer(data=request.data, sheets=sheets)
        serializer.is_valid(raise_exception=True)
        entry = services.expense_entry_create(actor=user, **serializer.validated_data)
        return self.record_response(entry.pk, status.HTTP_201_CREATED)

    @step_schema(
        "Edit an expense entry",
        ExpenseEntrySerializer,
        conflicts=["record_locked", "record_not_open"],
        request=ExpenseEntryUpdateSerializer,
        description="Refused while the entry is in a GL batch (record_locked: unbatch it "
        "first) or its sheet is not open (record_not_open: reverse the sheet first).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        services.ensure_may_change(request.user, entry.sheet)  # before reading the edit
        serializer = ExpenseEntryUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.expense_entry_update(actor=request.user, entry=entry, **serializer.validated_data)
        return self.record_response(entry.pk)


# --- expense types ----------------------------------------------------------------------------


class ExpenseTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExpenseType
        fields = ["id", "code", "name", "gl_account"]


@reference_schema("expense types")
class ExpenseTypeViewSet(ReferenceDataMixin, GenericViewSet):
    serializer_class = ExpenseTypeSerializer
    ordering_fields = ["code", "name", "id"]
    required_permissions = {
        "list": ("expenses.view_expensetype",),
        "retrieve": ("expenses.view_expensetype",),
        "create": ("expenses.add_expensetype",),
    }

    def get_queryset(self):
        return selectors.expense_type_list()
