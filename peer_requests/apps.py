from django.apps import AppConfig


class PeerRequestsConfig(AppConfig):
    name = "peer_requests"
    verbose_name = "Requests"
