"""API tokens over HTTP (docs/api.md, "Authentication and roles"): exchange a username
and password for a token, list one's own tokens, revoke one. Signing in counts towards the
lockout that the sign-in page and the admin share (core.lockout)."""

from axes.handlers.proxy import AxesProxyHandler
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import lockout, tokens
from core.api import ErrorSerializer, error_responses, list_error_responses


class LoginLocked(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = lockout.LOCKED_CODE
    error_code = lockout.LOCKED_CODE


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """Exchange a username and password for a new API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Get an API token",
        description="Send it as `Authorization: Token <token>`. Each call issues a new token, "
        "valid for the configured lifetime (30 days by default) or until revoked. Repeated "
        "wrong passwords for a username from one address lock that sign-in out for a while "
        "(`login_locked`).",
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            400: error_responses(validation=True)[400],
            429: OpenApiResponse(
                ErrorSerializer,
                description="login_locked: too many failed sign-ins for this username from "
                "this address; the detail says when to try again.",
            ),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # The lockout reads and marks the Django request, which its middleware answers.
        django_request = request._request
        serializer = AuthTokenSerializer(data=request.data, context={"request": django_request})
        if not serializer.is_valid():
            if getattr(django_request, "axes_locked_out", False):
                raise LoginLocked(lockout.lockout_message())
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        # A right password clears this username's failures from this address, as a
        # sign-in on the page does (without the browser session that one opens).
        address = getattr(django_request, "axes_ip_address", None)
        if address is not None:
            AxesProxyHandler.reset_attempts(ip_address=address, username=user.get_username())
        _, key = tokens.token_issue(user=user)
        return Response({"token": key})


class TokenRevokeSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="One of your tokens (from GET /api/v1/auth/tokens/); "
        "without it, the token this request is made with.",
    )


class TokenRevokeView(APIView):
    """Revoke the token the request is made with, or another of one's own by id."""

    @extend_schema(
        summary="Revoke an API token",
        request=TokenRevokeSerializer,
        responses={
            204: OpenApiResponse(description="Revoked: the token no longer authenticates."),
            **error_responses(validation=True, not_found=True),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token_id = serializer.validated_data.get("id")
        if token_id is None:
            if not isinstance(request.auth, tokens.ApiToken):
                raise exceptions.ValidationError(
                    {
                        "id": [
                            "Give the id of the token to revoke: this request is not made "
                            "with a token."
                        ]
                    }
                )
            token_id = request.auth.pk
        tokens.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(
        help_text="Whether this request is made with this token."
    )

    class Meta:
        model = tokens.ApiToken
        fields = ["id", "prefix", "created", "last_used", "expires", "current"]

    def get_current(self, token: tokens.ApiToken) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, tokens.ApiToken) and auth.pk == token.pk


@extend_schema(
    summary="List your API tokens",
    description="Newest first; each with the first characters of its key, never the key.",
    responses={200: ApiTokenSerializer(many=True), **list_error_responses()},
)
class TokenListView(ListAPIView):
    serializer_class = ApiTokenSerializer
    filter_backends: list = []

    def get_queryset(self):
        return tokens.tokens_of(self.request.user)
