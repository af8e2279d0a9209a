"""Agency.counties points at County in its new app, state only.

The through table agencies_agency_counties and its county_id column are unchanged: the
county table kept its name (see accounts 0002).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_county"),
        ("agencies", "0003_suspended_by_and_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="agency",
                    name="counties",
                    field=models.ManyToManyField(
                        related_name="agencies", to="accounts.county", verbose_name="counties served"
                    ),
                ),
            ],
        ),
    ]
