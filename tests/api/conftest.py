"""Fixtures for the API tests: API clients that check every response against the served
schema, an administrator, and batches sent through the API. Users in each role, the
book and records made through the services come from tests/conftest.py."""

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.test import APIClient

from accounting.models import TransferState
from core.tokens import token_issue
from tests.helpers import PASSWORD

SCHEMA_URI = "urn:psa-api-schema"


# --- the served schema, and clients that hold every response to it -----------------------


@pytest.fixture(scope="session")
def openapi_schema(django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock(), override_settings(API_DOCS_PUBLIC=True):
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


class SchemaChecker:
    """Finds the operation a request hit and validates the response against it."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SCHEMA_URI, resource)
        self.routes = []
        for template in schema["paths"]:
            pattern = re.sub(r"\{[^}/]+\}", r"[^/]+", template)
            # Literal paths before templated ones, so /setup/restore-options/ wins.
            self.routes.append((template.count("{"), re.compile(f"^{pattern}$"), template))
        self.routes.sort(key=lambda route: route[0])

    def operation(self, method: str, path: str) -> tuple[str, dict] | None:
        for _, pattern, template in self.routes:
            if pattern.match(path):
                operation = self.schema["paths"][template].get(method.lower())
                return (template, operation) if operation else None
        return None

    def check(self, method: str, path: str, response) -> None:
        found = self.operation(method, path)
        if found is None:
            return  # not an operation of the schema (a test of unknown paths)
        template, operation = found
        responses = operation["responses"]
        code = str(response.status_code)
        assert code in responses or "default" in responses, (
            f"{method} {template} answered {code}, which its schema does not document "
            f"({', '.join(responses)}): {response.content[:300]!r}"
        )
        documented = responses.get(code) or responses["default"]
        content = documented.get("content")
        if not content:
            assert not response.content, f"{method} {template} {code} should have no body"
            return
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in content, (
            f"{method} {template} {code} answered {media_type}; documented: {list(content)}"
        )
        if media_type != "application/json":
            return
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in (
                "paths",
                template,
                method.lower(),
                "responses",
                code,
                "content",
                media_type,
                "schema",
            )
        )
        validator = Draft202012Validator(
            {"$ref": f"{SCHEMA_URI}#/{pointer}"},
            registry=self.registry,
            format_checker=FormatChecker(),
        )
        body = json.loads(response.content)
        errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
        assert not errors, f"{method} {template} {code} does not match its schema: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )


@pytest.fixture(scope="session")
def schema_checker(openapi_schema) -> SchemaChecker:
    return SchemaChecker(openapi_schema)


class CheckedClient(APIClient):
    """An APIClient whose every response is checked against the served schema."""

    checker: SchemaChecker

    def request(self, **request: Any):
        response = super().request(**request)
        self.checker.check(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are made for nearly every test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(schema_checker, db):
    """`api(user)`: a client sending the user's API token, as an integration does;
    `api()` is anonymous."""

    def make(user: User | None = None) -> CheckedClient:
        client = CheckedClient()
        client.checker = schema_checker
        if user is not None:
            _, key = token_issue(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


# --- an administrator (users in each role: tests/conftest.py) -----------------------------------


@pytest.fixture
def administrator(db):
    return User.objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def send(api, finance, django_capture_on_commit_callbacks):
    """Create a batch through the API, running its transfer as the commit would."""

    def post(items: list[dict] | None = None, *, expect: int = 201, **body: Any) -> dict:
        if items is not None:
            body["items"] = items
        client = api(finance)
        # Tests run in a transaction: the transfer runs when the capture ends, as it
        # runs when the request's transaction commits in production.
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/accounting/batches/", body)
        assert response.status_code == expect, response.json()
        if expect != 201:
            return response.json()
        batch = client.get(f"/api/v1/accounting/batches/{response.json()['id']}/").json()
        assert batch["transfer"]["state"] == TransferState.DONE, batch
        return batch

    return post
