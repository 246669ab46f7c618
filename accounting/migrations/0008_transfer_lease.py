from django.db import migrations, models
from django.utils import timezone


def expire_running(apps, schema_editor):
    """A transfer running while the product is upgraded holds no lease: let it count as
    interrupted, so that the sweep (or Finance) takes it up if its process is gone."""
    GLBatch = apps.get_model("accounting", "GLBatch")
    GLBatch.objects.filter(transfer_state="running").update(transfer_lease_until=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0007_audit_hash_chain"),
    ]

    operations = [
        migrations.AlterField(
            model_name="glbatch",
            name="transfer_state",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("interrupted", "Interrupted"),
                ],
                default="queued",
                max_length=11,
            ),
        ),
        migrations.AddField(
            model_name="glbatch",
            name="transfer_queued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="glbatch",
            name="transfer_lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="glbatch",
            name="transfer_lease_holder",
            field=models.CharField(blank=True, db_default="", default="", max_length=100),
        ),
        migrations.AddField(
            model_name="glbatch",
            name="transfer_attempts",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.RunPython(expire_running, migrations.RunPython.noop),
    ]
