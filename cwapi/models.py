from django.conf import settings
from django.db import models


class ApiMemberKey(models.Model):
    """A key pair of an API member (a user acting through the ConnectWise-compatible
    API, with that user's role): the public key in clear, the private key only as a
    SHA-256 digest (it is shown once, when issued)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cw_api_keys"
    )
    public_key = models.CharField(max_length=32, unique=True, editable=False)
    private_key_digest = models.CharField(max_length=64, editable=False)
    description = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API member key"

    def __str__(self) -> str:
        return f"{self.public_key} of {self.user}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class GLEntryId(models.Model):
    """The id of one GL line of a record's posting as an export gave it (ConnectWise's
    `glEntryIds`): the same while the record is unchanged (same fingerprint), new ones
    once it changes, so a tool's list of ids says exactly which postings it wrote."""

    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    fingerprint = models.CharField(max_length=64)
    line = models.PositiveIntegerField()
    lines = models.PositiveIntegerField(help_text="How many lines the posting has.")
    # The line itself: part of the fingerprinted posting, so fixed for the id.
    account_number = models.CharField(max_length=30)
    account_name = models.CharField(max_length=200)
    account_type = models.CharField(max_length=30)
    debit = models.DecimalField(max_digits=20, decimal_places=2)
    credit = models.DecimalField(max_digits=20, decimal_places=2)
    memo = models.TextField(blank=True)

    class Meta:
        verbose_name = "GL entry id"
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "fingerprint", "line"],
                name="gl_entry_id_once_per_line",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pk}: {self.record_type} {self.record_id} line {self.line}"
