"""Help in place: each main screen links to the help of its procedures, each help page
opens, and Finance's menu links the API docs."""

import pytest
from django.urls import reverse

from config.help import SCREEN_HELP, TOPICS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("topic", [topic.slug for topic in TOPICS])
def test_every_help_page_opens(finance_client, topic):
    response = finance_client.get(reverse("help_topic", args=[topic]))
    assert response.status_code == 200
    assert "<ol>" in response.content.decode()


def test_an_unknown_help_page_is_not_found(finance_client):
    assert finance_client.get(reverse("help_topic", args=["nothing"])).status_code == 404


def test_the_help_index_lists_every_procedure(client, staff):
    client.force_login(staff)
    page = client.get(reverse("help_index")).content.decode()
    for topic in TOPICS:
        assert reverse("help_topic", args=[topic.slug]) in page
    assert reverse("api:docs") not in page  # the API is Finance's


def test_the_delete_procedure_tells_steps_9_to_11(finance_client):
    page = finance_client.get(reverse("help_topic", args=["delete-batch"])).content.decode()
    for step in ('value="9"', 'value="10"', 'value="11"'):
        assert step in page
    assert "Re-record" in page


def test_main_screens_link_their_help(finance_client, make_invoice, make_purchase_order):
    invoice = make_invoice()
    po, line = make_purchase_order()
    screens = {
        reverse("invoicing:invoice_list"): "invoice",
        reverse("invoicing:invoice_detail", args=[invoice.pk]): "invoice",
        reverse("procurement:po_detail", args=[po.pk]): "freight",
        reverse("procurement:line_detail", args=[line.pk]): "product",
        reverse("accounting:unposted", args=["invoice"]): "transfer",
        reverse("accounting:batch_list"): "delete-batch",
        reverse("accounting:books_check"): "books-check",
        reverse("expenses:entry_list"): "expense",
    }
    for url, topic in screens.items():
        page = finance_client.get(url).content.decode()
        assert f'href="{reverse("help_topic", args=[topic])}"' in page, url


def test_every_screen_named_for_help_exists():
    from django.urls import get_resolver

    names = set()
    resolver = get_resolver()
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names |= {f"{namespace}:{name}" for name in sub.reverse_dict if isinstance(name, str)}
    missing = [name for name in SCREEN_HELP if name not in names]
    assert missing == []


def test_finance_menu_links_the_api_docs(finance_client, client, staff):
    docs = f'href="{reverse("api:docs")}"'
    assert docs in finance_client.get(reverse("home")).content.decode()
    client.force_login(staff)
    assert docs not in client.get(reverse("home")).content.decode()
