from django.db import models


class Company(models.Model):
    """A client the provider invoices, a vendor it buys from, or both."""

    identifier = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    is_client = models.BooleanField(default=True)
    is_vendor = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class DocumentCounter(models.Model):
    """The next number of a document series; taken under a row lock, never MAX()+1."""

    name = models.CharField(max_length=30, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


# API tokens live with their services in core.tokens; imported here so Django finds them.
from core.tokens import ApiToken  # noqa: E402, F401
