"""The "Peer-RX staff" group: exactly the permissions Peer-RX staff's work needs, in one place.

Staff accounts are ``is_staff`` (the staff pages and the admin's door) members of this group,
never superusers; superuser is for the operators who run Peer-RX. Each permission is listed
with the work it is for (docs/organisations.md, "Peer-RX staff", argues each in full). A
permission left out here is one the admin does not offer staff: they see nothing they may
not change, and change nothing their work does not need. A change to this list comes with a
migration that calls ``sync_staff_group`` again, so every database gets it.
"""

from django.db import transaction

STAFF_GROUP = "Peer-RX staff"

# (app_label.codename, why)
PERMISSIONS: tuple[tuple[str, str], ...] = (
    # Verify and suspend organisations: the admin's actions need "change"; the details too,
    # since staff correct a typo in them and set an agency's backup counties.
    ("locations.view_location", "verify/suspend locations"),
    ("locations.change_location", "verify/suspend locations, correct their details"),
    ("locations.view_preferredagency", "see a location's ranking when supporting it"),
    ("agencies.view_agency", "verify/suspend agencies"),
    ("agencies.change_agency", "verify/suspend agencies, set backup counties"),
    # Memberships: block a member, appoint an admin when an organisation has none left.
    ("locations.view_locationmembership", "support: who works where"),
    ("locations.change_locationmembership", "block a member, appoint an admin"),
    ("agencies.view_agencymembership", "support: who supervises where"),
    ("agencies.change_agencymembership", "block a member, appoint an admin"),
    # Identity changes wait in the review queue.
    ("accounts.view_pendingchange", "the review queue"),
    ("accounts.change_pendingchange", "approve or reject a change"),
    # Validate credentials: the list actions need "change"; the peer is read only.
    ("peers.view_credential", "find pending and expiring credentials"),
    ("peers.change_credential", "validate or reject credentials"),
    ("peers.view_credentialtype", "read a credential's type"),
    ("peers.view_peer", "read the peer a credential belongs to"),
    ("peers.view_language", "read a peer's languages"),
    ("peers.view_availabilitywindow", "read a peer's weekly hours (inline on the peer)"),
    ("peers.view_availabilityoverride", "read a peer's overrides (inline on the peer)"),
    ("peers.view_consentrecord", "answer a question about a peer's SMS consent"),
    # Follow up requests: the follow-up queue is a staff page; the admin shows the history.
    ("peer_requests.view_peerrequest", "follow up expired requests"),
    ("peer_requests.change_peerrequest", "record a follow-up (its only editable fields)"),
    ("peer_requests.view_alert", "see who was alerted for a request"),
    ("peer_requests.view_requestevent", "read a request's timeline"),
    # Texts: why a peer or a location did not get one.
    ("sms.view_outboundmessage", "support: a text that failed"),
    ("sms.view_inboundmessage", "support: a reply that was not understood"),
    # Support for users: names, emails, the active flag (privilege fields stay read-only).
    ("accounts.view_user", "support: find a user"),
    ("accounts.change_user", "support: correct a name or email, deactivate an account"),
    ("accounts.view_county", "pick counties (autocomplete) and read them"),
    ("accounts.change_county", "accept a county typed at sign-up, so other organisations may choose it"),
    ("accounts.view_auditentry", "read the audit trail"),
)

PERMISSION_NAMES: frozenset[str] = frozenset(name for name, _why in PERMISSIONS)


@transaction.atomic
def sync_staff_group(*, apps=None) -> None:
    """Create the group if needed and give it exactly ``PERMISSIONS`` (no more, no fewer).

    ``apps`` is a migration's historical registry; without it the current models are used.
    Permissions are created first: in a fresh database they would otherwise only appear
    after the last migration.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for app_config in registry.get_app_configs():
        loaded = getattr(app_config, "models_module", None)
        app_config.models_module = loaded or True  # a historical app config has none
        create_permissions(app_config, apps=registry, verbosity=0)
        app_config.models_module = loaded
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    group, _created = group_model.objects.get_or_create(name=STAFF_GROUP)
    wanted = []
    for name in sorted(PERMISSION_NAMES):
        app_label, codename = name.split(".", 1)
        wanted.append(permission_model.objects.get(content_type__app_label=app_label, codename=codename))
    group.permissions.set(wanted)
