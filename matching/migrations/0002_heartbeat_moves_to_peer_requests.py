"""The sweeper's heartbeat now belongs to peer_requests; the table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Heartbeat")],
            database_operations=[],
        ),
    ]
