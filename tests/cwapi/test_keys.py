"""API member keys: Basic authentication as ConnectWise does it, the clientId header,
the role behind the key, revocation, the lockout shared with the other sign-ins, the
command that issues a pair, and the admin's list."""

import base64
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

from cwapi import keys
from cwapi.models import ApiMemberKey
from tests.cwapi import cw_models as m
from tests.cwapi.conftest import ACCOUNTING, CwClient

UNPOSTED = ACCOUNTING + "unpostedinvoices"


def assert_error(response, status: int, code: str) -> m.Error:
    assert response.status_code == status, response.content
    return m.parse(m.Error, response.json())


def test_a_finance_key_reads_the_lists(tool):
    assert tool.get(UNPOSTED).status_code == 200


def test_private_key_is_stored_only_as_a_digest(finance):
    key, private_key = keys.api_key_issue(user=finance)
    stored = ApiMemberKey.objects.get(pk=key.pk)
    assert private_key not in (stored.private_key_digest, stored.public_key)
    assert keys.api_key_check(key.public_key, private_key) == stored
    assert keys.api_key_check(key.public_key, private_key + "x") is None


def test_revoked_key_is_refused(cw, finance):
    client = cw(finance)
    assert client.get(UNPOSTED).status_code == 200
    keys.api_key_revoke(key_id=ApiMemberKey.objects.get(public_key=client.keys[0]).pk)
    assert_error(client.get(UNPOSTED), 401, "Unauthorized")


def test_wrong_company_is_refused(cw, finance):
    assert_error(cw(finance, company="someone-else").get(UNPOSTED), 401, "Unauthorized")


def test_missing_client_id_is_refused(cw, finance):
    error = assert_error(cw(finance, client_id=None).get(UNPOSTED), 401, "Unauthorized")
    assert "clientId" in error.message


@pytest.mark.parametrize(
    "authorization",
    ["", "Token abc", "Basic !!!", "Basic " + base64.b64encode(b"psa-nokey:secret").decode()],
)
def test_malformed_credentials_are_refused(db, authorization):
    client = CwClient()
    client.credentials(HTTP_AUTHORIZATION=authorization, HTTP_CLIENTID="tool")
    response = client.get(UNPOSTED)
    assert_error(response, 401, "Unauthorized")
    assert response["WWW-Authenticate"].startswith("Basic")


def test_wrong_private_key_is_refused(cw, finance):
    key, _ = keys.api_key_issue(user=finance)
    assert_error(cw(keys=(key.public_key, "wrong")).get(UNPOSTED), 401, "Unauthorized")


def test_a_staff_members_key_is_forbidden_the_finance_endpoints(cw, staff, make_invoice):
    make_invoice()
    client = cw(staff)
    for method, path in [
        ("get", UNPOSTED),
        ("post", ACCOUNTING + "export"),
        ("post", ACCOUNTING + "batches"),
        ("get", "/apis/3.0/finance/accountingPackageSetup"),
    ]:
        assert_error(getattr(client, method)(path), 403, "Forbidden")


def test_an_inactive_users_key_is_refused(cw, finance):
    client = cw(finance)
    finance.is_active = False
    finance.save()
    assert_error(client.get(UNPOSTED), 401, "Unauthorized")


def test_failed_attempts_lock_the_key_out_like_other_sign_ins(cw, finance, settings):
    settings.AXES_FAILURE_LIMIT = 3
    key, private_key = keys.api_key_issue(user=finance)
    wrong = cw(keys=(key.public_key, "wrong"))
    for _ in range(2):
        assert_error(wrong.get(UNPOSTED), 401, "Unauthorized")
    assert_error(wrong.get(UNPOSTED), 429, "TooManyRequests")  # the failure that locks
    # Locked out now: even the right pair waits out the cool-off, as at the sign-in page.
    right = cw(keys=(key.public_key, private_key))
    response = right.get(UNPOSTED)
    error = assert_error(response, 429, "TooManyRequests")
    assert error.errors[0].code == "login_locked"
    assert int(response["Retry-After"]) > 0
    assert AccessAttempt.objects.filter(username=key.public_key).exists()
    AccessAttempt.objects.all().delete()  # what axes_reset_username does
    assert right.get(UNPOSTED).status_code == 200


def test_a_right_pair_clears_earlier_failures(cw, finance, settings):
    settings.AXES_FAILURE_LIMIT = 3
    key, private_key = keys.api_key_issue(user=finance)
    wrong, right = cw(keys=(key.public_key, "wrong")), cw(keys=(key.public_key, private_key))
    for _ in range(2):
        wrong.get(UNPOSTED)
    assert right.get(UNPOSTED).status_code == 200
    for _ in range(2):
        wrong.get(UNPOSTED)
    assert right.get(UNPOSTED).status_code == 200


def test_command_issues_a_pair_on_one_line(cw, finance):
    out = StringIO()
    call_command("cw_api_key", finance.username, stdout=out)
    public_key, private_key = out.getvalue().split()
    assert cw(keys=(public_key, private_key)).get(UNPOSTED).status_code == 200


def test_admin_lists_and_revokes_keys(client, finance, db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="pw")
    key, _ = keys.api_key_issue(user=finance)
    client.force_login(admin)
    page = client.get("/admin/cwapi/apimemberkey/")
    assert key.public_key in page.content.decode()
    client.post(
        "/admin/cwapi/apimemberkey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.is_revoked


def test_company_info_needs_no_key(db):
    response = CwClient().get("/login/companyinfo/psa")
    info = m.parse(m.CompanyInfo, response.json())
    assert info.Codebase == "v4_6_release/" and info.CompanyID == "psa"
    assert_error(CwClient().get("/login/companyinfo/other"), 404, "NotFound")
