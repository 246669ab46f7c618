"""API member keys: services (issue, revoke) and selectors (check a pair)."""

import hashlib
import hmac
import logging
import secrets

from django.db import transaction
from django.utils import timezone

from core.errors import NotFound
from cwapi.models import ApiMemberKey

logger = logging.getLogger(__name__)


def _digest(private_key: str) -> str:
    # 160 random bits: a plain SHA-256 is as good as a slow hash here.
    return hashlib.sha256(private_key.encode()).hexdigest()


@transaction.atomic
def api_key_issue(*, user, description: str = "") -> tuple[ApiMemberKey, str]:
    """A new key pair for the user, and its private key (the only time it is known)."""
    key = ApiMemberKey.objects.create(
        user=user,
        public_key=secrets.token_hex(8),
        private_key_digest="",
        description=description[:100],
    )
    private_key = secrets.token_hex(20)
    key.private_key_digest = _digest(private_key)
    key.save(update_fields=["private_key_digest"])
    logger.info("API member key %s issued to %s", key.public_key, user)
    return key, private_key


def api_key_revoke(*, key_id: int, user=None) -> ApiMemberKey:
    """Revoke a key (one of `user`'s own, when given); it no longer authenticates."""
    keys = ApiMemberKey.objects.filter(pk=key_id, revoked_at__isnull=True)
    if user is not None:
        keys = keys.filter(user=user)
    key = keys.first()
    if key is None:
        raise NotFound(f"There is no active API member key with id {key_id}.")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    logger.info("API member key %s of %s revoked", key.public_key, key.user)
    return key


def api_key_check(public_key: str, private_key: str) -> ApiMemberKey | None:
    """The active key of this pair, or None."""
    key = (
        ApiMemberKey.objects.select_related("user")
        .filter(public_key=public_key, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.private_key_digest, _digest(private_key)):
        return None
    now = timezone.now()
    if key.last_used is None or (now - key.last_used).total_seconds() >= 60:
        ApiMemberKey.objects.filter(pk=key.pk).update(last_used=now)
    return key


def api_keys_of(user):
    return ApiMemberKey.objects.filter(user=user)
