#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerrx.settings")
    # Commands typed in a checkout (makemigrations, shell) default to development; servers,
    # workers and deployments set DEBUG=false explicitly and get the production checks.
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
