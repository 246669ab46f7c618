"""The books check's steps: starting a run, and the one-click fixes of a difference it
found (the run itself is `accounting.reconciliation`)."""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounting import books_upload, payments, selectors, tasks
from accounting.audit import audit_record
from accounting.connectors import ensure_reads_back, get_connector
from accounting.models import (
    DifferenceClass,
    GLBatch,
    Reconciliation,
    ReconciliationDifference,
    ReconciliationSource,
    ReconciliationState,
    UploadFormat,
)
from accounting.services.sent_changes import record_resend
from core.errors import ApplicationError, InvalidInput, NotFound

FIXABLE = {
    DifferenceClass.DUPLICATED: "remove",
    DifferenceClass.MISSING: "resend",
    DifferenceClass.CHANGED_IN_PSA: "resend",
}


@transaction.atomic
def reconciliation_start(
    *,
    actor: User,
    batch_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Reconciliation:
    """Queue a books check of one batch, of the records dated in a range, or (neither
    given) of everything sent through the package's connector."""
    setup = selectors.accounting_setup()
    ensure_reads_back(setup.package, setup.get_package_display(), "check the books")
    if batch_id is not None and (date_from or date_to):
        raise InvalidInput(
            "Check one batch or a date range, not both.",
            fields={"batch": ["Leave the batch empty to check a date range."]},
        )
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(
            "The date range ends before it starts.",
            fields={"date_to": ["On or after the start date."]},
        )
    batch = None
    if batch_id is not None:
        batch = GLBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(f"There is no GL batch with id {batch_id}.")
    _refuse_when_running()
    run = Reconciliation.objects.create(
        package=setup.package,
        batch=batch,
        date_from=date_from,
        date_to=date_to,
        created_by=actor,
    )
    scope = (
        {"batch": batch.batch_identifier}
        if batch
        else {"date_from": date_from, "date_to": date_to}
        if date_from or date_to
        else {"all": True}
    )
    audit_record(
        actor=actor,
        action="books_check_started",
        record_type="",
        record_id=None,
        batch=batch,
        changes={"reconciliation": run.pk, **{k: str(v) for k, v in scope.items()}},
    )
    tasks.queue_reconciliation(run)
    return run


def _refuse_when_running() -> None:
    if Reconciliation.objects.filter(
        state__in=[ReconciliationState.QUEUED, ReconciliationState.RUNNING]
    ).exists():
        raise ApplicationError(
            "A books check is already under way; wait until it is done, then start another.",
            code="reconciliation_running",
        )


@transaction.atomic
def reconciliation_upload(
    *,
    actor: User,
    upload_format: str,
    file,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Reconciliation:
    """Queue a books check of an export the package wrote (`accounting.books_upload`)
    against the export files sent to it: the file is read here, strictly, and a file
    that does not read is refused with its line, nothing kept. The run covers the
    dates given, or the first to the last date of the export."""
    if upload_format not in UploadFormat.values:
        raise InvalidInput(
            f"'{upload_format}' is not an export the books check reads; use one of "
            f"{', '.join(UploadFormat.values)}.",
            fields={"format": [f"Use one of {', '.join(UploadFormat.values)}."]},
        )
    if file is None:
        raise InvalidInput("Choose the export file to check.", fields={"file": ["Choose a file."]})
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(
            "The date range ends before it starts.",
            fields={"date_to": ["On or after the start date."]},
        )
    stream = books_upload.open_upload(file)
    _refuse_when_running()
    setup = selectors.accounting_setup()
    name = (getattr(file, "name", "") or "export.csv").rsplit("/", 1)[-1][:200]
    run = Reconciliation.objects.create(
        package=setup.package,
        source=ReconciliationSource.UPLOAD,
        upload_format=upload_format,
        upload_name=name,
        created_by=actor,
    )
    read = books_upload.stage(
        run,
        upload_format,
        stream,
        day_first=books_upload.day_first_for(upload_format, setup.options),
    )
    if not read["rows"]:
        raise books_upload.UploadError(
            f"{name} holds no transaction lines; export the period's general ledger with "
            "its transactions."
        )
    run.upload_rows = read["rows"]
    run.date_from = date_from or (None if date_to else read["first"])
    run.date_to = date_to or (None if date_from else read["last"])
    run.save(update_fields=["upload_rows", "date_from", "date_to"])
    audit_record(
        actor=actor,
        action="books_check_started",
        record_type="",
        record_id=None,
        changes={
            "reconciliation": run.pk,
            "upload": name,
            "format": upload_format,
            "rows": read["rows"],
            "date_from": str(run.date_from),
            "date_to": str(run.date_to),
        },
    )
    tasks.queue_reconciliation(run)
    return run


@transaction.atomic
def difference_fix(*, actor: User, difference_id: int) -> ReconciliationDifference:
    """Repair one difference where the connector can: remove the extra copies of a
    duplicated record, or send a missing record (or one changed in the PSA) again
    through the re-send guard, which removes the original first. A record changed in
    the package, or unknown to the PSA, is only reported: the user decides."""
    difference = (
        ReconciliationDifference.objects.select_for_update(of=("self",))
        .select_related("reconciliation")
        .filter(pk=difference_id)
        .first()
    )
    if difference is None:
        raise NotFound(f"There is no books check difference with id {difference_id}.")
    name = difference.reference or f"{difference.record_type} {difference.record_id}"
    if difference.fixed_at is not None:
        raise ApplicationError(
            f"{name} was fixed already ({difference.fix} on "
            f"{difference.fixed_at:%d %b %Y %H:%M}); run the books check again to see it now.",
            code="invalid_transition",
        )
    if difference.reconciliation.source == ReconciliationSource.UPLOAD:
        raise ApplicationError(
            f"{name} was found in an export of the package that was uploaded, and the "
            "product cannot change the package from here. Correct it in the accounting "
            "package (or send the record again in a new batch), then upload a new export "
            "and check again.",
            code="not_fixable",
        )
    fix = FIXABLE.get(DifferenceClass(difference.kind))
    if fix is None:
        raise ApplicationError(
            f"{name} is {difference.get_kind_display().lower()}: the product does not "
            "overwrite the package. Correct it in the accounting package (or send the "
            "record again from the Accounting Interface), then run the books check again.",
            code="not_fixable",
        )
    setup = selectors.accounting_setup()
    connector = get_connector(setup.package, setup.options)
    if connector is None:
        raise ApplicationError(
            f"{setup.get_package_display()} has no connector, so {name} cannot be fixed "
            "from here; fix it in the package.",
            code="no_connector",
        )
    if fix == "remove":
        changes = _remove_extra_copies(connector, difference, name)
        batch = None
    else:
        batch = record_resend(
            actor=actor,
            record_type=difference.record_type,
            record_id=difference.record_id,
            name=name,
        )
        changes = {"batch": batch.batch_identifier}
    difference.fixed_at = timezone.now()
    difference.fixed_by = actor
    difference.fix = fix
    difference.save(update_fields=["fixed_at", "fixed_by", "fix"])
    audit_record(
        actor=actor,
        action=f"books_check_{fix}",
        record_type=difference.record_type,
        record_id=difference.record_id,
        batch=batch,
        changes={
            "reconciliation": difference.reconciliation_id,
            "difference": difference.kind,
            **changes,
        },
    )
    return difference


def _remove_extra_copies(connector, difference: ReconciliationDifference, name: str) -> dict:
    """Remove every copy whose batch is not the one the log says is current (all of
    them when the log says the record was removed)."""
    live = selectors.live_sends(difference.record_type, [difference.record_id]).get(
        difference.record_id, []
    )
    keep = live[-1]["batch_identifier"] if live else None
    copies = {copy["batch"] for copy in difference.package}
    extra = sorted(batch for batch in copies if batch != keep)
    if not extra:
        raise ApplicationError(
            f"Every copy of {name} in the package carries GL batch {keep}, so the product "
            "cannot tell the original from the copy. Remove the extra one in the package "
            "by hand, then run the books check again.",
            code="not_fixable",
        )
    removed = sum(
        connector.remove(
            record_type=difference.record_type,
            record_id=difference.record_id,
            batch_identifier=batch,
        )
        for batch in extra
    )
    return {"removed_batches": extra, "removed": removed, "kept_batch": keep}


def payments_refresh(*, actor: User) -> dict[str, int]:
    """Finance's button: bring payments back from the package now (audited)."""
    return payments.payments_refresh(actor=actor)
