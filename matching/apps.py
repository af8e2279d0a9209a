from django.apps import AppConfig


class MatchingConfig(AppConfig):
    """Pure functions only; installed so its migrations (the heartbeat table it first created) run."""

    name = "matching"
