"""The finance API's own OpenAPI document (`/apis/3.0/openapi/`): its endpoints under
`/apis/3.0/` (the same are served under `/<codebase>/apis/3.0/`), and Basic auth with
the clientId header."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


def finance_api_endpoints(endpoints: list) -> list:
    """The preprocessing hook of this document: the endpoints under /apis/3.0/ once."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/apis/3.0/")]


class MemberKeyScheme(OpenApiAuthenticationExtension):
    target_class = "cwapi.authentication.MemberKeyAuthentication"
    name = "memberKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "company+publicKey:privateKey, with a clientId header.",
        }
