"""The audit trail's hash chain (PostgreSQL).

When a transaction that wrote audit events commits, a deferred trigger gives each event
the next place in the chain (`chain_seq`), the hash of the event before it
(`chain_prev`) and its own hash (`chain_hash`): SHA-256 over that previous hash, the
event's place, time, actor, action, record, batch, changes and the records it is linked
to. The chain is extended under one advisory lock, held only while the committing
transaction seals its events, so workflows do not wait on each other for their whole
length. `manage.py verify_audit` recomputes every hash with the same function and
reports the first link that does not hold: an event edited, deleted or inserted by hand
afterwards breaks the chain there. Events already written are sealed here, in id order.
"""

from django.db import migrations, models

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
        ), '')
    ), 'UTF8')), 'hex')
    FROM accounting_auditevent AS e WHERE e.id = event_id
$$;
"""

SEAL = r"""
CREATE OR REPLACE FUNCTION accounting_audit_seal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    -- One chain: whoever seals holds this lock until its commit is visible.
    PERFORM pg_advisory_xact_lock(4243, 0);
    SELECT chain_seq, chain_hash INTO last_seq, last_hash
    FROM accounting_auditevent WHERE chain_seq IS NOT NULL
    ORDER BY chain_seq DESC LIMIT 1;
    last_seq := coalesce(last_seq, 0);
    last_hash := coalesce(last_hash, '');
    UPDATE accounting_auditevent
    SET chain_seq = last_seq + 1,
        chain_prev = last_hash,
        chain_hash = accounting_audit_digest(NEW.id, last_seq + 1, last_hash)
    WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER accounting_audit_seal
    AFTER INSERT ON accounting_auditevent
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounting_audit_seal();
"""

SEAL_EXISTING = r"""
DO $$
DECLARE
    event record;
    last_seq bigint := 0;
    last_hash text := '';
BEGIN
    FOR event IN SELECT id FROM accounting_auditevent ORDER BY at, id LOOP
        last_seq := last_seq + 1;
        UPDATE accounting_auditevent
        SET chain_seq = last_seq,
            chain_prev = last_hash,
            chain_hash = accounting_audit_digest(event.id, last_seq, last_hash)
        WHERE id = event.id
        RETURNING chain_hash INTO last_hash;
    END LOOP;
END
$$;
"""

DROP = """
DROP TRIGGER IF EXISTS accounting_audit_seal ON accounting_auditevent;
DROP FUNCTION IF EXISTS accounting_audit_seal();
DROP FUNCTION IF EXISTS accounting_audit_digest(bigint, bigint, text);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DIGEST)
        cursor.execute(SEAL_EXISTING)
        cursor.execute(SEAL)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0006_transfer_log_batch_unchecked"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_prev",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=64),
        ),
        migrations.RunPython(install, uninstall),
    ]
