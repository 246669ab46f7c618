"""The API's schema and interactive docs are for signed-in users unless the operator
makes them public (API_DOCS_PUBLIC)."""

import pytest

pytestmark = pytest.mark.django_db

DOCS = ("/api/docs/", "/api/redoc/")


def test_anonymous_callers_get_neither_the_schema_nor_the_docs(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 401
    assert schema.json()["code"] == "not_authenticated"
    for url in DOCS:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


def test_a_signed_in_user_of_any_role_reads_the_schema_and_the_docs(client, staff, api):
    client.force_login(staff)
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
    for url in DOCS:
        assert client.get(url).status_code == 200
    # an integration signed in with its token reads the schema too
    assert api(staff).get("/api/schema/", {"format": "json"}).status_code == 200


def test_the_operator_can_make_them_public(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
    for url in DOCS:
        assert client.get(url).status_code == 200
