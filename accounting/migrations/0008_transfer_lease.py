from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0007_audit_hash_chain"),
    ]

    operations = []
