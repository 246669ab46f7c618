"""Reference data over HTTP (docs/api.md, "Reference data and setup"): GL accounts and tax codes."""

from decimal import Decimal
from typing import Any

import django_filters
from rest_framework import serializers
from rest_framework.viewsets import GenericViewSet

from accounting.models import GLAccount, TaxCode
from core.api import ReferenceDataMixin, reference_schema


class GLAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = GLAccount
        fields = ["id", "number", "name", "type", "is_active"]


class GLAccountFilter(django_filters.FilterSet):
    class Meta:
        model = GLAccount
        fields = ["type", "is_active"]


@reference_schema("GL accounts")
class GLAccountViewSet(ReferenceDataMixin, GenericViewSet):
    queryset = GLAccount.objects.all()
    serializer_class = GLAccountSerializer
    filterset_class = GLAccountFilter
    ordering_fields = ["number", "name", "type", "id"]
    required_permissions = {
        "list": ("accounting.view_glaccount",),
        "retrieve": ("accounting.view_glaccount",),
        "create": ("accounting.add_glaccount",),
    }


class RateField(serializers.DecimalField):
    """A percentage: "8.25" in and out (at least two decimals, up to four)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=7,
            decimal_places=4,
            min_value=Decimal("0"),
            max_value=Decimal("100"),
            **kwargs,
        )

    def to_representation(self, value: Any) -> str:
        value = Decimal(value)
        places = max(2, -value.normalize().as_tuple().exponent)
        return f"{value:.{places}f}"


class TaxCodeSerializer(serializers.ModelSerializer):
    rate = RateField(help_text='Percent, for example "8.25".')

    class Meta:
        model = TaxCode
        fields = ["id", "code", "name", "rate", "gl_account"]


@reference_schema("tax codes")
class TaxCodeViewSet(ReferenceDataMixin, GenericViewSet):
    queryset = TaxCode.objects.all()
    serializer_class = TaxCodeSerializer
    ordering_fields = ["code", "name", "id"]
    required_permissions = {
        "list": ("accounting.view_taxcode",),
        "retrieve": ("accounting.view_taxcode",),
        "create": ("accounting.add_taxcode",),
    }
