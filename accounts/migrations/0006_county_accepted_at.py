"""Counties typed at sign-up wait for staff; every county that exists today is accepted."""

import django.utils.timezone
from django.db import migrations, models


def accept_existing(apps, schema_editor):
    County = apps.get_model("accounts", "County")
    County.objects.filter(accepted_at__isnull=True).update(accepted_at=django.utils.timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_peerrx_staff_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="county",
            name="accepted_at",
            field=models.DateTimeField(
                blank=True, null=True, help_text="Empty while the county awaits staff."
            ),
        ),
        migrations.RunPython(accept_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="county",
            name="accepted_at",
            field=models.DateTimeField(
                blank=True,
                default=django.utils.timezone.now,
                help_text="Empty while the county awaits staff.",
                null=True,
            ),
        ),
    ]
