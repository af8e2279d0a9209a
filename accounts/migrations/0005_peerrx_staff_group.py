"""The "Peer-RX staff" group with the permissions ``accounts.staff_group`` lists.

Staff accounts that were superusers stay so until an operator moves them into the group
(docs/organisations.md, "Peer-RX staff"); the demo seed does it for its `staff` user.
"""

from django.db import migrations

from accounts.staff_group import STAFF_GROUP, sync_staff_group


def create_group(apps, schema_editor):
    sync_staff_group(apps=apps)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=STAFF_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_pending_change"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("locations", "0005_membership_admin_and_block"),
        ("agencies", "0007_membership_admin_and_block"),
        ("peers", "0004_consent"),
        ("peer_requests", "0009_encounter_stages"),
        ("sms", "0008_opt_in_request_kind"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
