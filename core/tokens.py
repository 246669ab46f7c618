"""API tokens: several per user, each expiring TOKEN_LIFETIME after it was issued, stored
only as a SHA-256 digest (the key is shown once, when it is issued), revoked by their
owner, and all revoked when the user's password changes or the user is deactivated.

The model, the writes (services) and the reads (selectors) of tokens; the API's
authentication class and endpoints translate to and from them.
"""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from core.errors import NotFound

logger = logging.getLogger(__name__)

PREFIX_LENGTH = 8
# last_used is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(key: str) -> str:
    """Keys are 160 random bits: a plain SHA-256 is as good as a slow hash here."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """One API token of a user: `Authorization: Token <key>`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=PREFIX_LENGTH, editable=False, help_text="The key's first characters."
    )
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "psa"
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.user}"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


# --- services ---------------------------------------------------------------------------


@transaction.atomic
def token_issue(*, user) -> tuple[ApiToken, str]:
    """A new token for the user, and its key (the only time the key is known). The
    user's expired tokens go at the same time."""
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires__lte=now).delete()
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user,
        digest=digest(key),
        prefix=key[:PREFIX_LENGTH],
        created=now,
        expires=now + settings.TOKEN_LIFETIME,
    )
    logger.info("API token %s issued to %s, expires %s", token.prefix, user, token.expires)
    return token, key


def token_revoke(*, user, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound(f"You have no API token with id {token_id}.")
    logger.info("API token %s of %s revoked by its owner", token_id, user)


def tokens_revoke_all(*, user, reason: str) -> int:
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    if deleted:
        logger.info("%d API token(s) of %s revoked: %s", deleted, user, reason)
    return deleted


def token_mark_used(token: ApiToken, *, at: datetime | None = None) -> None:
    """Note the token's use, at most once a minute (one UPDATE, no read)."""
    at = at or timezone.now()
    if token.last_used is None or at - token.last_used >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=at)
        token.last_used = at


# --- selectors ----------------------------------------------------------------------------


def token_for_key(key: str) -> ApiToken | None:
    return ApiToken.objects.select_related("user").filter(digest=digest(key)).first()


def tokens_of(user) -> models.QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created", "-id")


# --- revocation when a user's password or standing changes -----------------------------------


def _note_revoking_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """pre_save of the user model: a new password or a deactivation revokes the user's
    tokens (after the save, in post_save). Django's re-hashing of an unchanged password
    at sign-in (a hasher upgrade) is not a password change: it saves only the password,
    without set_password's pending raw password."""
    instance._revoke_tokens_reason = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    before = sender._default_manager.filter(pk=instance.pk).values("password", "is_active")
    before = before.first()
    if before is None:
        return
    if before["is_active"] and not instance.is_active:
        instance._revoke_tokens_reason = "user deactivated"
    elif before["password"] != instance.password:
        rehash = update_fields is not None and set(update_fields) == {"password"}
        if getattr(instance, "_password", None) is not None or not rehash:
            instance._revoke_tokens_reason = "password changed"


def _revoke_after_change(sender, instance, raw=False, **kwargs) -> None:
    reason = getattr(instance, "_revoke_tokens_reason", None)
    if reason and not raw:
        instance._revoke_tokens_reason = None
        tokens_revoke_all(user=instance, reason=reason)


def connect_signals() -> None:
    user_model = get_user_model()
    pre_save.connect(_note_revoking_change, sender=user_model, dispatch_uid="psa-token-revoke")
    post_save.connect(_revoke_after_change, sender=user_model, dispatch_uid="psa-token-revoke")
