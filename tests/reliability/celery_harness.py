"""Real Celery processes and a dead broker for the fault tests.

The same approach as tests/peer_requests/test_celery_integration.py.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
# Nothing listens here: publishing to it fails fast with "connection refused".
DEAD_BROKER = "redis://127.0.0.1:6399/0"


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app (what ``apply_async``/``delay`` publish to) at ``url``."""
    from peerrx.celery import app

    def reset_pools() -> None:
        # Dropped, not closed: kombu keeps pools in a global registry keyed by URL, and a
        # closed one would be handed back the next time that URL is used.
        app._pool = None
        app.amqp._producer_pool = None

    before = app.conf.get("broker_write_url")
    reset_pools()
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_write_url = before


def test_database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class CeleryProcess:
    """A celery worker or beat subprocess whose output is collected by a reader thread."""

    def __init__(self, kind: str, *, env: dict[str, str], tmp_path: Path, name: str):
        if kind == "worker":
            args = [
                CELERY,
                "-A",
                "peerrx",
                "worker",
                "--pool=threads",
                "--concurrency=4",
                "--loglevel=INFO",
                f"--hostname={name}@%h",
            ]
        else:
            args = [
                CELERY,
                "-A",
                "peerrx",
                "beat",
                "--loglevel=INFO",
                f"--schedule={tmp_path / f'{name}-schedule'}",
            ]
        # A fixed argument list naming the venv's own celery: nothing untrusted reaches it.
        self.process = subprocess.Popen(  # noqa: S603
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: " ready." in self.output(), timeout=timeout, what="the worker to be ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def celery_env(*, broker: str, tmp_path: Path, selection: int, expiry: int) -> dict[str, str]:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "peerrx.settings",
        "DEBUG": "false",
        "SECRET_KEY": "reliability-test-secret-key-0123456789abcdefghij",
        "ALLOWED_HOSTS": "localhost",
        "PEERRX_PUBLIC_BASE_URL": "https://localhost",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PEERRX_ALLOW_DEV_EMAIL": "true",
        "DATABASE_URL": test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker,
        "SMS_BACKEND": "console",
        "PEERRX_SELECTION_SECONDS": str(selection),
        "PEERRX_EXPIRY_SECONDS": str(expiry),
        "PEERRX_SWEEP_SECONDS": "1",
        "PEERRX_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
    }
