"""Requests refused before a view runs: a NUL character in the query string (the admin's
filters, the API's list filters, the pages' searches) is a 400, never a database error;
an API body over the upload limit is a 413 in the API's error shape."""

import json

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounting/glbatch/?status__exact=%00",
        "/admin/accounting/glaccount/?type__exact=%00",
        "/admin/accounting/glaccount/?is_active__exact=%00",
        "/admin/accounting/glbatch/?q=%00",
        "/admin/accounting/transferlog/?record_type__exact=a%00b",
        "/admin/accounting/auditevent/?action__exact=%00",
    ],
)
def test_a_nul_in_an_admin_filter_is_a_bad_request(admin_client, book, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/finance/invoices/?number=%00",
        "/finance/invoices/?company=x%00",
        "/procurement/purchase-orders/?vendor=%00",
        "/time-expense/entries/?text=%00",
        "/finance/accounting-interface/batches/?status=%00",
        "/finance/accounting-interface/unposted/invoice/?cursor=%00",
    ],
)
def test_a_nul_in_a_page_search_is_a_bad_request_page(client, finance, book, url):
    client.force_login(finance)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 400
    assert "contains a NUL character" in html and "<html" in html


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/accounting/batches/?status=%00",
        "/api/v1/accounting/gl-accounts/?type=%00",
        "/api/v1/invoices/?number=%00",
        "/api/v1/accounting/unposted/?record_type=invoice&thru_date=%00",
        "/api/v1/companies/?search=%00",
    ],
)
def test_a_nul_in_an_api_list_filter_is_a_validation_error(client, finance, book, url):
    client.force_login(finance)
    response = client.get(url)
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["code"] == "validation_error"
    assert "NUL character" in body["detail"] and body["fields"]


def test_an_api_body_over_the_limit_is_a_413_in_the_error_shape(client, finance, settings):
    client.force_login(finance)
    body = b'{"name": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'
    response = client.post(
        "/api/v1/companies/",
        body,
        content_type="application/json",
    )
    assert response.status_code == 413
    error = json.loads(response.content)
    assert error["code"] == "request_too_large"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}" in error["detail"]


def test_a_page_body_over_the_limit_keeps_an_html_error(client, finance, settings):
    client.force_login(finance)
    response = client.post(
        "/finance/accounting-interface/unposted/invoice/",
        {"batch_identifier": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
