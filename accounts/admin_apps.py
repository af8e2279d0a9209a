from django.contrib.admin.apps import AdminConfig


class PeerRxAdminConfig(AdminConfig):
    """Django's admin with Peer-RX's site: a verified second factor, every edit audited."""

    default_site = "accounts.admin_site.PeerRxAdminSite"
