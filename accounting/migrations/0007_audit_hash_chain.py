from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0006_transfer_log_batch_unchecked"),
    ]

    operations = []
