"""The "changed since sent" mark on every kind's page: a record of each kind is sent in
an export file, unbatched, fixed by the reference page's steps and rebatched. Its page
shows the mark with both sides and what to change by hand; its batch counts it; the
clerk's "I have updated it in the package" clears it, audited."""

import pytest
from django.urls import reverse

from accounting import selectors
from accounting import services as accounting
from accounting.models import AuditEvent
from core import web
from tests.helpers import send
from tests.workflows.test_fix_up_procedures import fix  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_each_kind_rebatched_after_an_edit_is_marked_and_cleared(
    fix,  # noqa: F811
    finance,
    finance_client,
    django_capture_on_commit_callbacks,
):
    record_id = fix.record.pk
    batch = send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": fix.type, "id": record_id}],
        transfer="file",
    )
    url = web.record_url(fix.type, record_id)
    assert 'id="sent-change"' not in finance_client.get(url).content.decode()

    accounting.record_unbatch(actor=finance, record_type=fix.type, record_id=record_id)
    fix.fix()
    accounting.record_rebatch(actor=finance, record_type=fix.type, record_id=record_id)
    change = selectors.record_sent_change(fix.type, record_id)
    assert change is not None and change.in_batch
    assert change.sent.total != change.now.total

    html = finance_client.get(url).content.decode()
    assert 'id="sent-change"' in html and "Changed since sent" in html
    assert f"{change.sent.total:,.2f}" in html and f"{change.now.total:,.2f}" in html
    assert f"Open document <strong>{change.number}</strong>" in html
    assert "I have updated it in the package" in html
    batch_page = finance_client.get(
        reverse("accounting:batch_detail", args=[batch.pk]), {"kind": fix.type}
    ).content.decode()
    assert 'id="changed-since-sent-count">1<' in batch_page.replace(' class="text-warning"', "")
    assert batch_page.count("Changed since sent</span>") == 1  # the row in the items

    confirm = reverse("accounting:record_sent_confirm", args=[fix.type, record_id])
    response = finance_client.post(confirm, {"next": url})
    assert response.status_code == 302
    assert selectors.record_sent_change(fix.type, record_id) is None
    assert 'id="sent-change"' not in finance_client.get(url).content.decode()
    assert AuditEvent.objects.filter(
        action="package_updated_by_hand", record_type=fix.type, record_id=record_id
    ).exists()


def test_staff_cannot_mark_a_record_updated_in_the_package(
    staff, client, finance, make_invoice, django_capture_on_commit_callbacks
):
    invoice = make_invoice()
    send(
        django_capture_on_commit_callbacks,
        finance,
        [{"type": "invoice", "id": invoice.pk}],
        transfer="file",
    )
    client.force_login(staff)
    response = client.post(reverse("accounting:record_sent_confirm", args=["invoice", invoice.pk]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="package_updated_by_hand").exists()
