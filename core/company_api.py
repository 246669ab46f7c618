"""Companies (clients and vendors) over HTTP (docs/api.md, "Reference data and setup")."""

import django_filters
from rest_framework import serializers
from rest_framework.viewsets import GenericViewSet

from core.api import ReferenceDataMixin, reference_schema
from core.models import Company


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "identifier", "name", "is_client", "is_vendor"]


class CompanyFilter(django_filters.FilterSet):
    identifier = django_filters.CharFilter(lookup_expr="iexact")
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Company
        fields = ["identifier", "name", "is_client", "is_vendor"]


@reference_schema("companies")
class CompanyViewSet(ReferenceDataMixin, GenericViewSet):
    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    ordering_fields = ["name", "identifier", "id"]
    required_permissions = {
        "list": ("psa.view_company",),
        "retrieve": ("psa.view_company",),
        "create": ("psa.add_company",),
    }
