"""``closed_at`` now means "ended unfilled" (expired or cancelled); assignments stopped setting it."""

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    requests = apps.get_model("peer_requests", "PeerRequest")
    requests.objects.filter(status="assigned", closed_at__isnull=False).update(closed_at=None)


class Migration(migrations.Migration):
    dependencies = [("peer_requests", "0006_heartbeat")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
