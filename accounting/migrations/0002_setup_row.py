from django.db import migrations


def create_setup(apps, schema_editor):
    apps.get_model("accounting", "AccountingSetup").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_initial")]
    operations = [migrations.RunPython(create_setup, migrations.RunPython.noop)]
