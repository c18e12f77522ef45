# An Asset row is written, pending, in the transaction that charges its bytes to the team's
# storage, before its files are uploaded: a collect killed in between leaves a row that
# holds the charge (re-driven, it is reused; failed or deleted, it gives the bytes back).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0009_chat"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="asset",
            options={"default_manager_name": "objects", "ordering": ["generation", "index"]},
        ),
        migrations.AddField(
            model_name="asset",
            name="pending",
            field=models.BooleanField(default=False),
        ),
    ]
