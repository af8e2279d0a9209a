from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo world and one login for every role (password peerrx-demo). Safe to run "
        "again. Refuses unless DEBUG is on, or --yes-on-an-empty-database is given and there are no users."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--yes-on-an-empty-database",
            action="store_true",
            help="Seed with DEBUG off (a staging server), only on a database without users.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            if not options["yes_on_an_empty_database"]:
                raise CommandError(
                    "seed_demo creates logins with a published password (a superuser among them): it "
                    "runs only with DEBUG on. For a staging server, pass --yes-on-an-empty-database."
                )
            if User.objects.exists():
                raise CommandError("This database has users: seed_demo refuses to add demo logins to it.")
        logins = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Log in at {settings.PEERRX_PUBLIC_BASE_URL}/ with:")
        )
        for login in logins:
            self.stdout.write(f"  {login.username:<14} {login.password:<14} {login.role}")
