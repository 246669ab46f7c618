"""One error shape for every refusal (docs/api.md, "Errors"), and no 500 for bad input."""

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework.test import APIClient

from core.api import MAX_ID, exception_handler, flatten_errors
from core.errors import ApplicationError

INVOICES = "/api/v1/invoices/"


def assert_error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def test_validation_errors_list_the_fields(api, finance, book):
    body = assert_error(api(finance).post(INVOICES, {}), 400, "validation_error")
    assert set(body["fields"]) == {"company", "date", "lines"}
    assert "company" in body["detail"]


def test_nested_input_errors_are_named_like_the_services_name_them(api, finance, book):
    client = api(finance)
    invoice = {"company": book["client"].pk, "date": "2026-11-03"}
    # Caught by the serializer ...
    body = assert_error(
        client.post(INVOICES, {**invoice, "lines": [{"description": "x", "quantity": "a"}]}),
        400,
        "validation_error",
    )
    assert set(body["fields"]) == {"lines[0].quantity", "lines[0].unit_price"}
    # ... and by the service: the same names.
    body = assert_error(
        client.post(
            INVOICES,
            {**invoice, "lines": [{"description": "x", "quantity": "-1", "unit_price": "1"}]},
        ),
        400,
        "validation_error",
    )
    assert list(body["fields"]) == ["lines[0].quantity"]
    body = assert_error(client.post(INVOICES, {**invoice, "lines": []}), 400, "validation_error")
    assert list(body["fields"]) == ["lines"]


def test_malformed_json_is_a_validation_error(api, finance):
    response = api(finance).generic("POST", INVOICES, "{not json", content_type="application/json")
    assert_error(response, 400, "validation_error")
    assert response.json()["fields"]


def test_a_missing_record_is_not_found(api, finance):
    body = assert_error(api(finance).get(f"{INVOICES}999999/"), 404, "not_found")
    assert body["detail"] == "There is no invoice with id 999999."
    assert_error(api(finance).get(f"{INVOICES}{MAX_ID + 1}/"), 404, "not_found")
    assert_error(api(finance).post(f"{INVOICES}abc/unbatch/"), 404, "not_found")


def test_an_unknown_api_path_answers_in_the_error_shape(api, finance):
    assert_error(api(finance).get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(api().post("/api/v1/invoices/1.5/unbatch/"), 404, "not_found")


def test_a_method_the_endpoint_does_not_have_is_405(api, finance, make_invoice):
    invoice = make_invoice()
    assert_error(api(finance).put(f"{INVOICES}{invoice.pk}/", {}), 405, "method_not_allowed")
    assert_error(api(finance).delete(f"{INVOICES}{invoice.pk}/"), 405, "method_not_allowed")


def test_only_json_is_accepted(finance):
    client = APIClient()
    client.force_authenticate(finance)
    response = client.post(INVOICES, "company=1", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_conflicts_name_the_records(api, finance, make_invoice):
    invoice = make_invoice()
    body = assert_error(
        api(finance).post(f"{INVOICES}{invoice.pk}/rebatch/"), 409, "no_original_batch"
    )
    assert f"Invoice {invoice.number}" in body["detail"]
    body = assert_error(
        api(finance).post(
            "/api/v1/accounting/batches/",
            {"items": [{"type": "invoice", "id": make_invoice(closed=False).pk}]},
        ),
        409,
        "record_not_ready",
    )
    assert body["items"][0]["type"] == "invoice"


@pytest.mark.parametrize(
    "body",
    [
        {"items": [{"type": "invoice", "id": 1}], "all_unposted": True},
        {},
        {"items": [{"type": "payment", "id": 1}]},
        {"items": [{"type": "invoice", "id": MAX_ID + 1}]},
        {"items": "invoice"},
        {"all_unposted": True, "batch_identifier": "x" * 51},
        {"all_unposted": True, "batch_identifier": "NUL\x00"},
        {"all_unposted": True, "thru_date": "2026-02-30"},
        {"all_unposted": True, "transfer": "fax"},
        [],
        "text",
    ],
)
def test_bad_batch_requests_are_validation_errors(api, finance, book, body):
    assert_error(api(finance).post("/api/v1/accounting/batches/", body), 400, "validation_error")


@pytest.mark.parametrize(
    "query",
    [
        {"type": "payment"},
        {"thru_date": "yesterday"},
    ],
)
def test_bad_unposted_filters_are_validation_errors(api, finance, query):
    body = assert_error(
        api(finance).get("/api/v1/accounting/unposted/", query), 400, "validation_error"
    )
    assert set(body["fields"]) <= {"type", "thru_date"}


@pytest.mark.parametrize(
    "query",
    [
        {"company": "abc"},
        {"company": str(MAX_ID + 1)},
        {"date_from": "2026-13-45"},
        {"number": "\x00"},
    ],
)
def test_bad_list_filters_are_validation_errors(api, finance, query):
    assert_error(api(finance).get(INVOICES, query), 400, "validation_error")


def test_pages_past_the_end_are_not_found(api, finance):
    assert_error(api(finance).get(INVOICES, {"page": 9}), 404, "not_found")


def test_bad_references_in_a_body_are_validation_errors(api, finance, book):
    body = assert_error(
        api(finance).post(
            INVOICES,
            {
                "company": MAX_ID + 5,
                "date": "2026-11-03",
                "tax_code": "x",
                "lines": [
                    {"description": "d", "quantity": "1", "unit_price": "1", "gl_account": 0}
                ],
            },
        ),
        400,
        "validation_error",
    )
    assert set(body["fields"]) == {"company", "tax_code", "lines[0].gl_account"}


def test_a_duplicate_reference_row_is_a_validation_error_not_a_database_error(api, finance, book):
    body = assert_error(
        api(finance).post("/api/v1/companies/", {"identifier": "ACME", "name": "Again"}),
        400,
        "validation_error",
    )
    assert "identifier" in body["fields"]


def test_json_options_with_a_nul_character_are_refused(api, finance, book):
    response = api(finance).patch("/api/v1/accounting/setup/", {"options": {"memo": "a\x00b"}})
    assert_error(response, 400, "validation_error")


# The handler itself, for errors no endpoint raises on purpose today.


def test_django_errors_take_the_same_shape():
    cases = [
        (Http404("Nothing here"), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (DjangoValidationError({"date": ["Bad date."]}), 400, "validation_error"),
        (DjangoValidationError("Bad."), 400, "validation_error"),
        (ApplicationError("Nope.", code="invalid_transition"), 409, "invalid_transition"),
        (
            ApplicationError("Bad input.", code="validation_error", status_code=400),
            400,
            "validation_error",
        ),
    ]
    for error, status, code in cases:
        response = exception_handler(error, {})
        assert response.status_code == status
        assert response.data["code"] == code and response.data["detail"]
        if code == "validation_error":
            assert isinstance(response.data["fields"], dict)


def test_nested_drf_errors_flatten_to_field_names():
    detail = {
        "lines": [{}, {"quantity": ["Bad."], "non_field_errors": ["Whole line."]}],
        "options": {"0": ["Not a string."]},
        "non_field_errors": ["Everything."],
    }
    assert flatten_errors(detail) == {
        "lines[1].quantity": ["Bad."],
        "lines[1]": ["Whole line."],
        "options.0": ["Not a string."],
        "non_field_errors": ["Everything."],
    }


def test_json_the_parser_cannot_hold_is_a_validation_error(api, finance):
    client = api(finance)
    for body in ("[" * 100_000 + "]" * 100_000, '{"company": 1e400}'):
        response = client.generic("POST", INVOICES, body, content_type="application/json")
        assert_error(response, 400, "validation_error")


def test_amounts_too_large_to_store_are_validation_errors(api, finance, book):
    client = api(finance)
    invoice = {"company": book["client"].pk, "date": "2026-11-03", "tax_code": book["tax"].pk}
    huge_line = {"description": "a", "quantity": "999999999999.99", "unit_price": "9" * 18}
    body = assert_error(
        client.post(INVOICES, {**invoice, "lines": [huge_line]}), 400, "validation_error"
    )
    assert list(body["fields"]) == ["lines[0].quantity"]
    # Each line fits, the total does not.
    big_line = {"description": "a", "quantity": "1", "unit_price": "900000000000000000"}
    assert_error(
        client.post(INVOICES, {**invoice, "lines": [big_line] * 2}), 400, "validation_error"
    )
    order = {"vendor": book["vendor"].pk, "date": "2026-11-03", "tax_code": book["tax"].pk}
    big_product = {"description": "a", "quantity": "1", "unit_cost": "990000000000000000"}
    assert_error(
        client.post("/api/v1/purchase-orders/", {**order, "lines": [big_product]}),
        400,
        "validation_error",
    )
