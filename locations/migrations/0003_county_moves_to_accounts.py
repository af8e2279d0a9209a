"""County leaves this app for accounts, state only: no table, column or constraint changes.

Location.county keeps its column and its foreign key to the same table, locations_county
(see accounts 0002). Runs after agencies 0004, so nothing points at the old model when it goes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_county"),
        ("agencies", "0004_counties_from_accounts"),
        ("locations", "0002_suspended_by_and_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="location",
                    name="county",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="locations",
                        to="accounts.county",
                    ),
                ),
                migrations.DeleteModel(name="County"),
            ],
        ),
    ]
