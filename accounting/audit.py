"""Audit events: written by every workflow step in the same transaction as the step."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.utils import timezone

from accounting.models import AuditEvent, GLBatch


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before": .., "after": ..}} for the fields whose value changed."""
    return {
        name: {"before": _jsonable(before.get(name)), "after": _jsonable(value)}
        for name, value in after.items()
        if _jsonable(before.get(name)) != _jsonable(value)
    }


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    record_type: str,
    record_id: int,
    batch: GLBatch | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        batch=batch,
        changes=changes or {},
    )


def audit_batch(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    batch: GLBatch,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        at=timezone.now(), actor=actor, action=action, batch=batch, changes=changes or {}
    )
