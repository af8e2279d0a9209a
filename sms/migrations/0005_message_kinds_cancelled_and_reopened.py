"""Two message kinds get their own names: texts that told responders the location cancelled
(stored as "filled") and texts that told the location its request reopened (stored as
"location_assigned"). Existing rows are told apart by their wording, which only those texts have."""

from django.db import migrations, models

CANCELLED_WORDS = "the location cancelled this request"
REOPENED_WORDS = "We are looking for another peer until"


def forwards(apps, schema_editor) -> None:
    messages = apps.get_model("sms", "OutboundMessage")
    messages.objects.filter(kind="filled", body__contains=CANCELLED_WORDS).update(kind="cancelled")
    messages.objects.filter(kind="location_assigned", body__contains=REOPENED_WORDS).update(
        kind="location_reopened"
    )


def backwards(apps, schema_editor) -> None:
    messages = apps.get_model("sms", "OutboundMessage")
    messages.objects.filter(kind="cancelled").update(kind="filled")
    messages.objects.filter(kind="location_reopened").update(kind="location_assigned")


class Migration(migrations.Migration):
    dependencies = [("sms", "0004_outbound_created_at_index")]

    operations = [
        migrations.AlterField(
            model_name="outboundmessage",
            name="kind",
            field=models.CharField(
                choices=[
                    ("alert", "Alert"),
                    ("confirmation", "Assignment confirmation"),
                    ("filled", "Filled, thank you"),
                    ("cancelled", "Cancelled by the location, thank you"),
                    ("reply", "Reply to a text"),
                    ("location_assigned", "Location: peer assigned"),
                    ("location_reopened", "Location: request reopened"),
                    ("location_expired", "Location: no peer found"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
