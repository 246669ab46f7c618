"""Downloads from a batch's page: the export file and the checklist of originals to
remove. Their Content-Disposition is built as RFC 6266 says (one filename parameter,
quoted, `filename*` for non-ASCII), the file is stored under a name the product makes,
and a batch ID with control characters is refused in the form."""

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from accounting.models import BatchStatus, GLBatch

pytestmark = pytest.mark.django_db

INJECTION = 'q"; filename=evil.exe'


def filename_of(response) -> str:
    """The one filename the Content-Disposition offers; fails unless there is exactly
    one filename parameter, quoted or in RFC 5987 form."""
    header = response["Content-Disposition"]
    assert "\n" not in header and "\r" not in header
    parameters = re.findall(r";\s*(filename\*?)=", header)
    assert parameters in (["filename"], ["filename*"]), header
    if parameters == ["filename"]:
        match = re.fullmatch(r'attachment; filename="((?:[^"\\]|\\.)*)"', header)
        assert match, header
        return re.sub(r"\\(.)", r"\1", match.group(1))
    match = re.fullmatch(r"attachment; filename\*=utf-8''([A-Za-z0-9%._~!$&'()*+,;=:@-]*)", header)
    assert match, header
    return unquote(match.group(1))


def create_through_page(client, capture, invoice, identifier):
    with capture(execute=True):
        return client.post(
            reverse("accounting:unposted", args=["invoice"]),
            {
                "selection": "selected",
                "items": [f"invoice:{invoice.pk}"],
                "batch_identifier": identifier,
                "transfer": "file",
            },
        )


def test_a_header_injection_in_the_batch_id_gives_one_quoted_filename(
    finance_client, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    response = create_through_page(
        finance_client, django_capture_on_commit_callbacks, invoice, INJECTION
    )
    assert response.status_code == 302
    batch = GLBatch.objects.get(batch_identifier=INJECTION)

    download = finance_client.get(reverse("accounting:batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert filename_of(download) == "q-- filename-evil.exe.csv"
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(download.streaming_content).decode()
    assert invoice.number in body

    checklist = finance_client.get(reverse("accounting:batch_checklist", args=[batch.pk]))
    assert checklist.status_code == 200
    assert filename_of(checklist) == "q-- filename-evil.exe-originals-to-remove.csv"
    assert checklist["Content-Type"] == "text/csv; charset=utf-8"


def test_a_batch_id_with_a_line_break_is_refused_in_the_form(
    finance_client, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    response = create_through_page(
        finance_client, django_capture_on_commit_callbacks, invoice, "a\nb"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "control characters" in " ".join(errors["batch_identifier"])
    assert "control characters" in response.content.decode()
    assert not GLBatch.objects.exists()
    invoice.refresh_from_db()
    assert invoice.gl_batch_id is None


def test_a_non_ascii_batch_id_downloads_with_filename_star(
    finance_client, make_invoice, django_capture_on_commit_callbacks
):
    identifier = "Clôture-Nov 日本"
    create_through_page(
        finance_client, django_capture_on_commit_callbacks, make_invoice(), identifier
    )
    batch = GLBatch.objects.get(batch_identifier=identifier)
    download = finance_client.get(reverse("accounting:batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert filename_of(download) == "Clôture-Nov 日本.csv"
    checklist = finance_client.get(reverse("accounting:batch_checklist", args=[batch.pk]))
    assert checklist.status_code == 200
    assert filename_of(checklist) == "Clôture-Nov 日本-originals-to-remove.csv"


def test_a_slash_in_the_batch_id_makes_no_folder(
    finance_client, make_invoice, django_capture_on_commit_callbacks
):
    identifier = "../2026/11"
    create_through_page(
        finance_client, django_capture_on_commit_callbacks, make_invoice(), identifier
    )
    batch = GLBatch.objects.get(batch_identifier=identifier)
    assert batch.file.name == f"batches/{batch.pk}/batch-{batch.pk}.csv"
    folder = Path(django_settings.MEDIA_ROOT) / "batches" / str(batch.pk)
    assert [path.name for path in folder.iterdir()] == [f"batch-{batch.pk}.csv"]
    assert sorted(
        path.name for path in (Path(django_settings.MEDIA_ROOT) / "batches").iterdir()
    ) == [str(batch.pk)]
    download = finance_client.get(reverse("accounting:batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert filename_of(download) == "-2026-11.csv"


def test_an_existing_batch_with_a_control_character_in_its_id_still_downloads(
    finance_client, make_invoice, send
):
    batch = send([{"type": "invoice", "id": make_invoice().pk}], batch_identifier="OLD-1")
    GLBatch.objects.filter(pk=batch.pk).update(batch_identifier="old\nid\t1")
    download = finance_client.get(reverse("accounting:batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert filename_of(download) == "old-id-1.csv"
    checklist = finance_client.get(reverse("accounting:batch_checklist", args=[batch.pk]))
    assert checklist.status_code == 200
    assert filename_of(checklist) == "old-id-1-originals-to-remove.csv"


def test_the_checklist_writes_formulas_as_text(
    finance_client, make_invoice, send, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    first = send([{"type": "invoice", "id": invoice.pk}], batch_identifier="=HYPERLINK(1)")
    follow = finance_client.post(reverse("accounting:batch_delete", args=[first.pk]), follow=True)
    assert follow.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(
            reverse("accounting:unposted", args=["invoice"]),
            {
                "selection": "selected",
                "items": [f"invoice:{invoice.pk}"],
                "batch_identifier": "-RESEND",
                "transfer": "file",
                "confirm_resend": "on",
            },
        )
    batch = GLBatch.objects.exclude(status=BatchStatus.DELETED).get()
    checklist = finance_client.get(reverse("accounting:batch_checklist", args=[batch.pk]))
    assert filename_of(checklist) == "-RESEND-originals-to-remove.csv"
    header, row = csv.reader(io.StringIO(checklist.content.decode(), newline=""))
    assert header[:4] == ["record", "type", "id", "original_batch"]
    assert row[1:4] == ["invoice", str(invoice.pk), "'=HYPERLINK(1)"]
    assert row[-1] == "confirmed"
