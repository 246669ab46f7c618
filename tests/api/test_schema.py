"""The served OpenAPI schema and the interactive docs."""

from drf_spectacular.validation import validate_schema

from config.api_urls import router


def test_served_schema_is_valid_openapi(openapi_schema):
    validate_schema(openapi_schema)
    assert openapi_schema["openapi"].startswith("3.1")


def test_schema_documents_every_route_of_the_api(openapi_schema):
    paths = set(openapi_schema["paths"])
    for route in (
        "/api/v1/auth/token/",
        "/api/v1/accounting/unposted/",
        "/api/v1/accounting/setup/",
        "/api/v1/accounting/setup/restore-options/",
    ):
        assert route in paths
    assert len(router.urls) > 0
    for url in router.urls:
        # router patterns look like ^invoices/(?P<pk>[^/.]+)/unbatch/$
        template = "/api/v1/" + (
            url.pattern.regex.pattern.strip("^$").replace("(?P<pk>[^/.]+)", "{id}")
        )
        assert template in paths, template


def test_every_operation_documents_its_errors(openapi_schema):
    for path, operations in openapi_schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path == "/api/v1/auth/token/":
                assert {"200", "400", "429"} <= codes
                continue
            assert {"401", "403"} <= codes, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
            if method in {"post", "patch"} and "requestBody" in operation:
                assert "400" in codes, (method, path)


def test_interactive_docs_are_served_without_any_cdn(client, staff):
    client.force_login(staff)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "drf_spectacular_sidecar" in html  # assets come from our own static files
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html
    redoc = client.get("/api/redoc/").content.decode()
    assert "drf_spectacular_sidecar" in redoc and "cdn.jsdelivr" not in redoc
