"""The Xero connector's connection and the documents it created."""

from django.db import models
from django.db.models import Q


class XeroConnection(models.Model):
    """How the PSA reaches its Xero organisation: one row. The client secret and the
    refresh token are stored encrypted (`accounting.secrets`) and never shown back."""

    CUSTOM = "custom"  # a custom connection: the client-credentials grant, one organisation
    OAUTH = "oauth"  # the OAuth 2.0 code flow, with rotating refresh tokens

    auth = models.CharField(
        max_length=10,
        choices=[(CUSTOM, "Custom connection"), (OAUTH, "OAuth 2.0 (sign in to Xero)")],
        default=CUSTOM,
    )
    client_id = models.CharField(max_length=100, blank=True)
    client_secret = models.TextField(blank=True)  # encrypted
    refresh_token = models.TextField(blank=True)  # encrypted; rotates on each use
    tenant_id = models.CharField(max_length=64, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="xero_connection_single_row")]

    def __str__(self) -> str:
        return self.organisation_name or "Xero connection"


class XeroDocument(models.Model):
    """A sales invoice or bill the Xero connector created: what `find` and `remove`
    answer from, written as soon as Xero answers the create (a retried create carries
    the same Idempotency-Key, so Xero answers the same document again). A record Xero
    refused has a row without an invoice id, counting the refusals: the next create
    carries a new key, so that Xero tries it again instead of answering the refusal."""

    record_type = models.CharField(max_length=20)
    record_id = models.BigIntegerField()
    batch_identifier = models.CharField(max_length=50)
    invoice_id = models.CharField(max_length=64, blank=True)
    # The PSA's receivable or payable lines, [GL account number, debit minus credit]:
    # Xero posts its own, so the books check takes them from here to read a document
    # back as the lines sent.
    control_lines = models.JSONField(default=list, blank=True)
    refusals = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal = models.CharField(
        max_length=10, blank=True, choices=[("voided", "Voided"), ("deleted", "Deleted")]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "batch_identifier"],
                name="xero_document_once_per_batch",
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type}:{self.record_id}@{self.batch_identifier}"


class XeroCall(models.Model):
    """A call made to an organisation's Accounting API, by any process: what Xero's
    limits a minute and a day are counted on (`accounting.connectors.xero.limits`).
    Rows older than a day are removed as new ones come."""

    tenant_id = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant_id", "at"], name="xero_call_tenant_at")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.at:%Y-%m-%d %H:%M:%S}"
