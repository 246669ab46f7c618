"""Companies (clients and vendors) and API tokens over HTTP (api.md, "Conventions" and
"Reference data")."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from psa.api import ErrorSerializer, ReferenceDataMixin, error_responses, reference_schema
from psa.models import Company


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


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """Exchange a username and password for the caller's API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        summary="Get the API token of a user",
        description='Send it as `Authorization: Token <token>`. Throttled ("token" rate).',
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            400: error_responses(validation=True)[400],
            429: OpenApiResponse(ErrorSerializer, description="throttled: too many attempts."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
