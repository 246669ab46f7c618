"""Every page of the browser UI checks on GET what its action checks on POST: a role
that may not take a step cannot open its confirmation either (which would show the
record and its batch), and a role refusal is a 403 page with the sentence, on both.

The pages are found by walking the URL patterns, so a page added later is covered."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounting.models import Reconciliation
from config import web_urls
from cwapi.keys import api_key_issue
from tests.helpers import make_user

pytestmark = pytest.mark.django_db

# Sign-in and sign-out are not role pages.
NOT_ROLE_PAGES = {"login", "logout"}
RECORD_TYPES = ("invoice", "expense", "freight", "product")
IDENTITIES = ("staff", "approver", "finance", "admin")


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", list(entry.pattern.converters)


def _pages():
    resolver = get_resolver(web_urls)
    for name, params in _walk(resolver.url_patterns):
        if name in NOT_ROLE_PAGES:
            continue
        if "record_type" in params:
            for record_type in RECORD_TYPES:
                yield name, record_type
        else:
            yield name, None


PAGES = sorted(set(_pages()))


def test_the_walk_finds_every_confirm_and_action_page():
    names = {name for name, _ in PAGES}
    for step in ("close", "delete", "reopen", "retry", "rerecord"):
        assert f"accounting:batch_{step}" in names
    assert {"accounting:record_unbatch", "accounting:record_rebatch"} <= names
    assert {"expenses:sheet_approve", "procurement:line_receive"} <= names
    assert ("accounting:record_unbatch", "product") in PAGES


@pytest.fixture
def world(make_invoice, make_expense, make_purchase_order, send, staff):
    """One record of each kind, each in an open GL batch."""
    invoice, entry = make_invoice(), make_expense()
    order, line = make_purchase_order()
    batch = send(
        [
            {"type": "invoice", "id": invoice.pk},
            {"type": "expense", "id": entry.pk},
            {"type": "freight", "id": order.pk},
            {"type": "product", "id": line.pk},
        ]
    )
    records = {"invoice": invoice.pk, "expense": entry.pk, "freight": order.pk, "product": line.pk}
    run = Reconciliation.objects.create(package="beancount", state="done")
    difference = run.differences.create(kind="unknown", record_type="invoice", record_id=1)
    return {
        "run_id": run.pk,
        "difference_id": difference.pk,
        "batch_id": batch.pk,
        "invoice_id": invoice.pk,
        "entry_id": entry.pk,
        "sheet_id": entry.sheet_id,
        "purchase_order_id": order.pk,
        "line_id": line.pk,
        "records": records,
        "key_id": api_key_issue(user=staff)[0].pk,
        "slug": "invoice",  # a help page
    }


def _url(name, record_type, world):
    resolver = get_resolver(web_urls)
    pattern = next(
        entry for found, entry in _patterns_by_name(resolver.url_patterns) if found == name
    )
    kwargs = {}
    for param in pattern.pattern.converters:
        if param == "record_type":
            kwargs[param] = record_type
        elif param == "record_id":
            kwargs[param] = world["records"][record_type]
        else:
            kwargs[param] = world[param]
    return reverse(name, kwargs=kwargs)


def _patterns_by_name(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns_by_name(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def _outcome(response) -> str:
    if response.status_code in (403, 404):
        return "refused"
    if response.status_code == 405:
        return "not offered"
    return "allowed"


ROLE_SENTENCE = "your role does not allow it"


@pytest.fixture
def signed_in(client, request):
    def sign_in(identity):
        if identity == "admin":
            user = make_user("root", is_superuser=True, is_staff=True)
        else:
            user = request.getfixturevalue(identity)
        client.force_login(user)
        return client

    return sign_in


@pytest.mark.parametrize("identity", IDENTITIES)
def test_get_and_post_of_every_page_agree_for_every_role(signed_in, world, identity):
    """For each page: its GET (page and htmx panel) and its POST are both refused (403)
    or both allowed; a role refusal of a POST is the 403 page, not a redirect."""
    client = signed_in(identity)
    disagreements = []
    for name, record_type in PAGES:
        url = _url(name, record_type, world)
        shown = client.get(url)
        panel = client.get(url, HTTP_HX_REQUEST="true")
        done = client.post(url, {})
        outcomes = (_outcome(shown), _outcome(panel), _outcome(done))
        if outcomes[0] != outcomes[1]:
            disagreements.append(f"{url}: GET {shown.status_code}, htmx GET {panel.status_code}")
        if "not offered" not in (outcomes[0], outcomes[2]) and outcomes[0] != outcomes[2]:
            disagreements.append(f"{url}: GET {shown.status_code}, POST {done.status_code}")
        if done.status_code == 302:
            landed = client.get(done["Location"])
            if ROLE_SENTENCE in landed.content.decode():
                disagreements.append(f"{url}: POST refused by a redirect, not a 403")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_staff_cannot_see_the_unbatch_confirmation(signed_in, world, record_type):
    client = signed_in("staff")
    for step in ("record_unbatch", "record_rebatch"):
        url = _url(f"accounting:{step}", record_type, world)
        for response in (client.get(url), client.get(url, HTTP_HX_REQUEST="true")):
            html = response.content.decode()
            assert response.status_code == 403
            assert "You cannot unbatch or rebatch records: " + ROLE_SENTENCE in html
            assert "GL-" not in html and "Unbatch " not in html


def test_finance_cannot_see_the_reopen_confirmation(signed_in, world):
    client = signed_in("finance")
    response = client.get(_url("accounting:batch_reopen", None, world))
    assert response.status_code == 403
    assert "You cannot reopen GL batches" in response.content.decode()
    assert signed_in("admin").get(_url("accounting:batch_reopen", None, world)).status_code == 200


def test_a_users_own_and_group_permissions_are_read_once_in_one_query(finance, staff):
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Permission, User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff.user_permissions.add(Permission.objects.get(codename="view_glbatch"))
    for user in (finance, staff):
        expected = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        fresh = User.objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as queries:
            assert fresh.has_perm("accounting.view_glbatch")
            assert fresh.has_perm("accounting.no_such_step") is False
            assert fresh.get_all_permissions() == expected
        assert len(queries) == 1
    staff.is_active = False
    assert not staff.has_perm("accounting.view_glbatch")
