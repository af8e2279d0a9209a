"""Roll up every settled hour now, instead of waiting for the beat (e.g. after a deploy)."""

import time

from django.core.management.base import BaseCommand

from reporting import rollups


class Command(BaseCommand):
    help = (
        "Bring the hourly report rollups up to date. --rebuild forgets them and counts every "
        "alert again (after a bulk load or a correction to old data)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recount every hour from the start")

    def handle(self, *args, rebuild: bool = False, **options):
        started = time.perf_counter()
        rows = rollups.rebuild() if rebuild else rollups.catch_up()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Report rollups up to date: {rows:,} agency-hours written in {seconds:.1f} s.")
