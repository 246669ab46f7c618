"""GL entry ids (ConnectWise's `glEntryIds`): one id per GL line of a record's posting,
kept per fingerprint, so they stay the same while the record is unposted and unchanged,
and a changed record's lines get new ones. Issuing them is the only write an export
makes, and it touches no record, batch or log."""

from collections import defaultdict
from dataclasses import dataclass

from accounting.gl import Posting
from accounting.postables import get_kind
from cwapi.errors import CwError
from cwapi.models import GLEntryId


def entry_ids(postings: list[Posting]) -> dict[tuple[str, int], list[int]]:
    """The ids of each posting's lines, in line order, issued where not yet."""
    wanted = [
        GLEntryId(
            record_type=p.header.type,
            record_id=p.header.id,
            fingerprint=p.fingerprint(),
            line=index,
            lines=len(p.lines),
            account_number=line.account_number,
            account_name=line.account_name,
            account_type=line.account_type,
            debit=line.debit,
            credit=line.credit,
            memo=line.memo,
        )
        for p in postings
        for index, line in enumerate(p.lines)
    ]
    GLEntryId.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=2000)
    found: dict[tuple[str, int], list[int]] = defaultdict(list)
    by_type: dict[str, set[int]] = defaultdict(set)
    fingerprints = {(p.header.type, p.header.id): p.fingerprint() for p in postings}
    for record_type, record_id in fingerprints:
        by_type[record_type].add(record_id)
    for record_type, ids in by_type.items():
        rows = (
            GLEntryId.objects.filter(record_type=record_type, record_id__in=ids)
            .order_by("record_id", "line")
            .values_list("pk", "record_id", "fingerprint")
        )
        for pk, record_id, fingerprint in rows:
            if fingerprints[(record_type, record_id)] == fingerprint:
                found[(record_type, record_id)].append(pk)
    return found


@dataclass(frozen=True)
class ListedRecord:
    type: str
    id: int
    fingerprint: str


def records_of_entries(entry_id_list: list[int]) -> list[ListedRecord]:
    """The records whose postings these entry ids name, each with the fingerprint it was
    exported with; a 400 naming the record when only part of its entries is listed, and
    for an id no export gave."""
    wanted = set(entry_id_list)
    rows = list(
        GLEntryId.objects.filter(pk__in=wanted).values_list(
            "pk", "record_type", "record_id", "fingerprint", "lines"
        )
    )
    unknown = sorted(wanted - {row[0] for row in rows})
    if unknown:
        raise CwError(
            400,
            f"processedRecordIds: {', '.join(map(str, unknown[:10]))} "
            f"{'is not a GL entry id' if len(unknown) == 1 else 'are not GL entry ids'} "
            "of an export. Export the records again and use its glEntryIds.",
            errors=[
                {
                    "code": "InvalidField",
                    "message": f"{pk} is not a GL entry id.",
                    "resource": "accountingBatch",
                    "field": "processedRecordIds",
                }
                for pk in unknown[:10]
            ],
        )
    listed: dict[tuple[str, int, str], tuple[int, int]] = {}
    for _pk, record_type, record_id, fingerprint, lines in rows:
        key = (record_type, record_id, fingerprint)
        count, _ = listed.get(key, (0, lines))
        listed[key] = (count + 1, lines)
    records: dict[tuple[str, int], ListedRecord] = {}
    for (record_type, record_id, fingerprint), (count, lines) in sorted(listed.items()):
        if (record_type, record_id) in records:
            raise _refused(
                record_type,
                record_id,
                "is listed with entries of two different exports; it changed between them. "
                "Export it again and list the entries of that export only.",
                "record_changed",
            )
        if count != lines:
            raise _refused(
                record_type,
                record_id,
                f"is listed with {count} of its {lines} GL entries. List all of a record's "
                "glEntryIds, or none.",
                "partial_entries",
            )
        records[(record_type, record_id)] = ListedRecord(record_type, record_id, fingerprint)
    return list(records.values())


def _refused(record_type: str, record_id: int, what: str, code: str) -> CwError:
    kind = get_kind(record_type)
    record = kind.queryset().filter(pk=record_id).first()
    name = kind.reference(record) if record is not None else f"{kind.label} {record_id}"
    message = f"{name} {what}"
    return CwError(
        400,
        message,
        errors=[
            {"code": code, "message": message, "resource": record_type, "field": str(record_id)}
        ],
    )
