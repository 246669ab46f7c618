"""A batch step's records as one sorted array per kind, and a deleted batch's counts.

`AuditRecordSet` holds, per batch-level audit event and record kind, the ids of the
records the step moved (one row, where `AuditEventRecord` wrote one row per record); the
hash chain's digest covers the sets of the events that have them, and gives the events
sealed before (which have none) the hash they were sealed with: the sets' field is NULL
for them, and `concat_ws` leaves NULLs out. `accounting_batch_steps` finds a record's
batch steps in the sets. `FormerCount` keeps how many former records
each part of a deleted batch's split holds, filled here from the splits stored so far.

Safe on a live 1,000,000-record database: both tables are new (created empty, so their
creation locks nothing else), the GIN index is built concurrently (this migration is not
atomic), the digest is replaced in one statement, and the counts are one
`INSERT ... SELECT` that only reads the split (no lock that blocks its writes).
"""

import importlib

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """The GIN index, built concurrently where it exists: on PostgreSQL. The embedded
    default (SQLite) has neither GIN indexes nor concurrent builds, and its trail reads
    the sets without the index."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


DIGEST = r"""
CREATE OR REPLACE FUNCTION accounting_audit_digest(event_id bigint, seq bigint, prev text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\x1f',
        prev,
        e.id::text,
        seq::text,
        to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        coalesce(e.actor_id::text, ''),
        e.action,
        e.record_type,
        coalesce(e.record_id::text, ''),
        coalesce(e.batch_id::text, ''),
        e.changes::text,
        coalesce((
            SELECT string_agg(l.record_type || ':' || l.record_id, ','
                              ORDER BY l.record_type, l.record_id)
            FROM accounting_auditeventrecord AS l WHERE l.event_id = e.id
        ), ''),
        (
            SELECT string_agg(s.record_type || ':' || array_to_string(s.record_ids, ','), ';'
                              ORDER BY s.record_type)
            FROM accounting_auditrecordset AS s WHERE s.event_id = e.id
        )
    ), 'UTF8')), 'hex')
    FROM accounting_auditevent AS e WHERE e.id = event_id
$$;
"""

# A record's batch steps on the sets, by the GIN index always: the table holds few rows
# but big arrays, so the planner would rather scan it and unpack every array (tens of
# milliseconds once a book has a few hundred thousand batched records).
STEPS = """
CREATE OR REPLACE FUNCTION accounting_batch_steps(kind text, record bigint)
RETURNS SETOF bigint LANGUAGE sql STABLE SET enable_seqscan = off AS $$
    SELECT event_id FROM accounting_auditrecordset
    WHERE record_type = kind AND record_ids @> ARRAY[record]
$$;
"""

FILL_COUNTS = """
INSERT INTO accounting_formercount (batch_id, state, record_type, records)
SELECT batch_id, state, record_type, count(*) FROM accounting_formerrecord
GROUP BY batch_id, state, record_type
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DIGEST)
        cursor.execute(STEPS)
        cursor.execute(FILL_COUNTS)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    chain = importlib.import_module("accounting.migrations.0007_audit_hash_chain")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(chain.DIGEST)
        cursor.execute("DROP FUNCTION IF EXISTS accounting_batch_steps(text, bigint)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounting", "0020_transfer_parts"),
    ]

    operations = [
        migrations.CreateModel(
            name="FormerCount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "batch",
                        "state",
                        "record_type",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "state",
                    models.PositiveSmallIntegerField(
                        choices=[(0, "unchanged"), (1, "changed"), (2, "not sent")]
                    ),
                ),
                ("record_type", models.CharField(max_length=20)),
                ("records", models.PositiveIntegerField()),
                (
                    "batch",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounting.glbatch",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="AuditRecordSet",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "event",
                        "record_type",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("record_type", models.CharField(max_length=20)),
                (
                    "record_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), size=None
                    ),
                ),
                (
                    "event",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="record_sets",
                        to="accounting.auditevent",
                    ),
                ),
            ],
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="auditrecordset",
            index=django.contrib.postgres.indexes.GinIndex(
                fastupdate=False, fields=["record_ids"], name="audit_set_ids"
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
