"""The batch file over the API: the Content-Disposition is built as RFC 6266 says, the
file is stored under a name the product makes, and a batch ID with control characters
is refused with a field error."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from accounting.models import GLBatch

BATCHES = "/api/v1/accounting/batches/"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def filename_of(response) -> str:
    header = response["Content-Disposition"]
    parameters = re.findall(r";\s*(filename\*?)=", header)
    assert parameters in (["filename"], ["filename*"]), header
    if parameters == ["filename"]:
        match = re.fullmatch(r'attachment; filename="((?:[^"\\]|\\.)*)"', header)
        assert match, header
        return re.sub(r"\\(.)", r"\1", match.group(1))
    match = re.fullmatch(r"attachment; filename\*=utf-8''([A-Za-z0-9%._~!$&'()*+,;=:@-]*)", header)
    assert match, header
    return unquote(match.group(1))


def download(client, batch: dict):
    response = client.get(batch["transfer"]["file_url"])
    assert response.status_code == 200
    return response


def test_a_header_injection_in_the_batch_id_gives_one_quoted_filename(
    api, finance, make_invoice, send
):
    batch = send(
        [{"type": "invoice", "id": make_invoice().pk}], batch_identifier='q"; filename=evil.exe'
    )
    response = download(api(finance), batch)
    assert filename_of(response) == "q-- filename-evil.exe.csv"
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_a_batch_id_with_a_line_break_is_refused_with_a_field_error(api, finance, make_invoice):
    invoice = make_invoice()
    response = api(finance).post(
        BATCHES,
        {"items": [{"type": "invoice", "id": invoice.pk}], "batch_identifier": "a\nb"},
        format="json",
    )
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["batch_identifier"]
    assert "control characters" in body["fields"]["batch_identifier"][0]
    assert not GLBatch.objects.exists()
    invoice.refresh_from_db()
    assert invoice.gl_batch_id is None


def test_a_non_ascii_batch_id_downloads_with_filename_star(api, finance, make_invoice, send):
    batch = send([{"type": "invoice", "id": make_invoice().pk}], batch_identifier="Clôture 11")
    response = download(api(finance), batch)
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''Cl%C3%B4ture%2011.csv"
    assert filename_of(response) == "Clôture 11.csv"


def test_a_slash_in_the_batch_id_makes_no_folder(api, finance, make_invoice, send, settings):
    batch = send([{"type": "invoice", "id": make_invoice().pk}], batch_identifier="2026/11")
    stored = GLBatch.objects.get(pk=batch["id"]).file.name
    assert stored == f"batches/{batch['id']}/batch-{batch['id']}.csv"
    folder = Path(settings.MEDIA_ROOT) / "batches"
    assert [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*"))] == [
        str(batch["id"]),
        f"{batch['id']}/batch-{batch['id']}.csv",
    ]
    assert filename_of(download(api(finance), batch)) == "2026-11.csv"
