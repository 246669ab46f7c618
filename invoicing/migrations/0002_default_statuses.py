from django.db import migrations


def create_statuses(apps, schema_editor):
    InvoiceStatus = apps.get_model("invoicing", "InvoiceStatus")
    for order, (name, is_closed) in enumerate([("New", False), ("Sent", False), ("Closed", True)]):
        InvoiceStatus.objects.get_or_create(
            name=name, defaults={"is_closed": is_closed, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]
    operations = [migrations.RunPython(create_statuses, migrations.RunPython.noop)]
