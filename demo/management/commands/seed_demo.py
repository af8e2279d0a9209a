from django.core.management.base import BaseCommand

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo world and one login for every role. Safe to run again."

    def handle(self, *args, **options) -> None:
        logins = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/ with:"))
        for login in logins:
            self.stdout.write(f"  {login.username:<14} {login.password:<14} {login.role}")
