# Reserved for the ads work of issue 12 (its models and seeded registry rows), so the
# three parts of that issue each own one migration in a fixed chain.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("generations", "0013_creative_director")]

    operations: list = []
