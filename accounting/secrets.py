"""Secrets the PSA keeps for an accounting package (Xero's client secret and refresh
token), encrypted at rest with Fernet (`cryptography`: AES-128-CBC with an HMAC) under
the key the server's operator sets in SECRETS_ENCRYPTION_KEY. Stored values are only
ever decrypted to be sent to the package; they are never shown back nor logged.

`python -m accounting.secrets` prints a new key.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from core.errors import ApplicationError


def _fernet() -> Fernet:
    key = settings.SECRETS_ENCRYPTION_KEY
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise ApplicationError(
            "The server cannot keep secrets: its SECRETS_ENCRYPTION_KEY is not set or is "
            "not a Fernet key. Ask the server's operator to set it (README, \"How to "
            'connect Xero").',
            code="secrets_key_missing",
            status_code=503,
        ) from None


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ApplicationError(
            "The stored Xero secrets cannot be read with the server's "
            "SECRETS_ENCRYPTION_KEY (it was changed); connect Xero again in the "
            "accounting package setup.",
            code="secrets_unreadable",
            status_code=409,
        ) from None


if __name__ == "__main__":
    print(Fernet.generate_key().decode())
