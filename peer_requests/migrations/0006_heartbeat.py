"""The sweeper's heartbeat, moved here from matching: state only, the table is matching's."""

from django.db import migrations, models


def _rename_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    # Keeps the admin's permissions on the model attached to it.
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label=old, model="heartbeat").update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _rename_content_type(apps, schema_editor, old="matching", new="peer_requests")


def backwards(apps, schema_editor) -> None:
    _rename_content_type(apps, schema_editor, old="peer_requests", new="matching")


class Migration(migrations.Migration):
    dependencies = [
        ("peer_requests", "0005_alert_peer_request_index"),
        ("matching", "0002_heartbeat_moves_to_peer_requests"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Heartbeat",
                    fields=[
                        ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                        ("beat_at", models.DateTimeField()),
                    ],
                    options={"db_table": "matching_heartbeat"},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
