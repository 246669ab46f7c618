"""Small things a clerk relies on: the batch ID in a record's banner is a link, a batch
ID already in use is said at its field, the received date is shown before receiving
and never assumed, a favicon on every page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounting import services as accounting

pytestmark = pytest.mark.django_db


def test_the_batch_in_a_record_banner_links_to_the_batch(
    finance_client, finance, make_invoice, send
):
    invoice = make_invoice()
    batch = send([{"type": "invoice", "id": invoice.pk}])
    url = reverse("invoicing:invoice_detail", args=[invoice.pk])
    banner = finance_client.get(url).content.decode().split('id="record-state"')[1]
    batch_url = reverse("accounting:batch_detail", args=[batch.pk])
    assert (
        f'In batch <a class="batch-id" href="{batch_url}">{batch.batch_identifier}</a> since'
        in banner
    )
    accounting.record_unbatch(actor=finance, record_type="invoice", record_id=invoice.pk)
    banner = finance_client.get(url).content.decode().split('id="record-state"')[1]
    assert f'Unbatched from <a class="batch-id" href="{batch_url}">' in banner


def test_a_batch_id_in_use_is_said_at_its_field(finance_client, make_invoice, send):
    taken = send([{"type": "invoice", "id": make_invoice().pk}])
    other = make_invoice()
    response = finance_client.post(
        reverse("accounting:unposted", args=["invoice"]),
        {
            "selection": "selected",
            "items": f"invoice:{other.pk}",
            "batch_identifier": taken.batch_identifier,
            "transfer": "file",
        },
    )
    form = response.context["form"]
    assert form.errors["batch_identifier"] == [
        "Already used by an open or closed batch: type another, or leave it empty to have "
        "one generated."
    ]
    html = response.content.decode()
    field = html.split('for="id_batch_identifier"')[1].split("</div>")[0]
    assert "Already used by an open or closed batch" in field
    assert 'aria-invalid="true"' in field
    other.refresh_from_db()
    assert other.gl_batch_id is None


def test_the_received_date_is_shown_and_required(finance_client, make_purchase_order):
    _po, line = make_purchase_order(received=False, closed=False)
    url = reverse("procurement:line_detail", args=[line.pk])
    html = finance_client.get(url).content.decode()
    today = timezone.localdate().isoformat()
    assert f'name="received_date" value="{today}"' in html
    assert "(optional)" not in html.split('for="id_received_date"')[1].split("</label>")[0]
    response = finance_client.post(
        reverse("procurement:line_receive", args=[line.pk]), {"received_date": ""}, follow=True
    )
    assert f"Product {line.pk} was not received" in response.content.decode()
    line.refresh_from_db()
    assert not line.received


def test_every_page_names_the_favicon(finance_client):
    html = finance_client.get(reverse("home")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
