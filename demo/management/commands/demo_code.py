from base64 import b32decode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from demo.seed import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current authentication code of the demo staff login (its key is published)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_code is for the demo world: it runs only with DEBUG on.")
        self.stdout.write(f"{totp(b32decode(DEMO_TOTP_SECRET)):06d}")
