"""County moves here from the locations app, state only: its table keeps the name locations_county.

Both organisations need counties, so the model lives below both apps. No row or column
changes; the content type is renamed so admin permissions and log entries stay attached.
"""

from django.db import migrations, models


def _rename_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    # Missing on a fresh database: content types are created after migrating.
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if ContentType.objects.using(db).filter(app_label=new, model="county").exists():
        return
    ContentType.objects.using(db).filter(app_label=old, model="county").update(app_label=new)
    ContentType.objects.clear_cache()


def forwards(apps, schema_editor) -> None:
    _rename_content_type(apps, schema_editor, old="locations", new="accounts")


def backwards(apps, schema_editor) -> None:
    _rename_content_type(apps, schema_editor, old="accounts", new="locations")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The table was created, and last shaped, by this migration.
        ("locations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="County",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        (
                            "state",
                            models.CharField(help_text="Two-letter state code, e.g. NY.", max_length=2),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "counties",
                        "db_table": "locations_county",
                        "ordering": ["state", "name"],
                        "constraints": [
                            models.UniqueConstraint(fields=("state", "name"), name="county_unique_per_state")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
