"""The local Xero (tests.connectors.xero_fake) and a stored connection to it."""

import pytest
from cryptography.fernet import Fernet

from accounting.connectors import xero as xero_module
from accounting.models import XeroConnection
from accounting.secrets import encrypt
from tests.connectors.xero_fake import FakeXero
from tests.exporters import samples

ACCOUNTS = set(samples.ACCOUNTS)


@pytest.fixture
def fake_xero(settings):
    """The local Xero, and the PSA's settings pointing at it; no request or answer of
    a test may stray from Xero's description."""
    fake = FakeXero(accounts=ACCOUNTS).start()
    for name, value in fake.settings_env().items():
        setattr(settings, name, value)
    settings.SECRETS_ENCRYPTION_KEY = Fernet.generate_key().decode()
    xero_module._limits.clear()
    yield fake
    fake.stop()
    xero_module._limits.clear()
    assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture
def connection(fake_xero):
    return XeroConnection.objects.create(
        pk=1,
        auth=XeroConnection.CUSTOM,
        client_id=fake_xero.client_id,
        client_secret=encrypt(fake_xero.client_secret),
    )
