"""Fixtures for the ConnectWise-compatible API: clients that authenticate with an API
member key pair as a sync tool does, and check every error against ConnectWise's
error model."""

import base64
import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from cwapi.keys import api_key_issue
from tests.cwapi.cw_models import Error, parse

BASE = "/v4_6_release/apis/3.0/"
ACCOUNTING = BASE + "finance/accounting/"


class CwClient(APIClient):
    """Every error response is parsed as ConnectWise's error (strict)."""

    def request(self, **request):
        response = super().request(**request)
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), response.content
            parse(Error, json.loads(response.content))
        return response


def basic(company: str, public_key: str, private_key: str) -> str:
    text = f"{company}+{public_key}:{private_key}".encode()
    return "Basic " + base64.b64encode(text).decode()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def cw(db):
    """`cw(user)`: a client with a new key pair of the user, company `psa` and a clientId;
    `company=`, `client_id=` or `keys=(public, private)` change what it sends."""

    def make(user=None, *, company: str = "psa", client_id: str | None = "sync-tool", keys=None):
        client = CwClient()
        if keys is None and user is not None:
            key, private_key = api_key_issue(user=user)
            keys = (key.public_key, private_key)
        headers = {}
        if keys is not None:
            headers["HTTP_AUTHORIZATION"] = basic(company, *keys)
        if client_id is not None:
            headers["HTTP_CLIENTID"] = client_id
        client.credentials(**headers)
        client.keys = keys
        return client

    return make


@pytest.fixture
def tool(cw, finance):
    """A sync tool signed in as Finance."""
    return cw(finance)
