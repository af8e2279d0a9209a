from django.db import models


class Heartbeat(models.Model):
    """The last time a periodic job ran; /healthz reports it stale after a minute."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
