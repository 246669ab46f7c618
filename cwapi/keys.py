"""API member keys: services (issue, revoke; both audited) and selectors (check a pair,
a user's keys)."""

import hashlib
import hmac
import logging
import secrets

from django.db import transaction
from django.utils import timezone

from accounting.audit import audit_record
from core.errors import InvalidInput, NotFound
from cwapi.models import ApiMemberKey

AUDIT_TYPE = "api_member_key"

logger = logging.getLogger(__name__)


def _digest(private_key: str) -> str:
    # 160 random bits: a plain SHA-256 is as good as a slow hash here.
    return hashlib.sha256(private_key.encode()).hexdigest()


@transaction.atomic
def api_key_issue(*, user, description: str = "", actor=None) -> tuple[ApiMemberKey, str]:
    """A new key pair for the user, and its private key (the only time it is known).
    `actor`: who issued it (the user on their own page; None from the command line)."""
    description = description.strip()
    if len(description) > 100:
        raise InvalidInput(
            "A key's name is at most 100 characters.",
            fields={"description": ["At most 100 characters."]},
        )
    key = ApiMemberKey.objects.create(
        user=user,
        public_key=secrets.token_hex(8),
        private_key_digest="",
        description=description,
    )
    private_key = secrets.token_hex(20)
    key.private_key_digest = _digest(private_key)
    key.save(update_fields=["private_key_digest"])
    audit_record(
        actor=actor,
        action="api_key_issued",
        record_type=AUDIT_TYPE,
        record_id=key.pk,
        changes={"user": user.get_username(), "public_key": key.public_key, "name": description},
    )
    logger.info("API member key %s issued to %s", key.public_key, user)
    return key, private_key


@transaction.atomic
def api_key_revoke(*, key_id: int, user=None, actor=None) -> ApiMemberKey:
    """Revoke a key (one of `user`'s own, when given); it no longer authenticates. The
    key is kept, revoked: its row says when it was made, last used and revoked."""
    keys = ApiMemberKey.objects.select_for_update().filter(pk=key_id, revoked_at__isnull=True)
    if user is not None:
        keys = keys.filter(user=user)
    key = keys.first()
    if key is None:
        raise NotFound(f"There is no active API member key with id {key_id}.")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api_key_revoked",
        record_type=AUDIT_TYPE,
        record_id=key.pk,
        changes={"user": key.user.get_username(), "public_key": key.public_key},
    )
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


def api_key_of(user, key_id: int) -> ApiMemberKey | None:
    """One of the user's own keys, or None."""
    return ApiMemberKey.objects.filter(user=user, pk=key_id).first()
