"""Settings for the test suite: the real settings, read from the same environment.

CI exports DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); without them the
suite runs on SQLite and an in-memory broker, and tests that need the real services
skip with a reason (or fail, when PEERRX_REQUIRE_SERVICES=1).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnop")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("PEERRX_VAR_DIR", os.path.join(tempfile.gettempdir(), "peerrx-tests"))
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("PEERRX_PUBLIC_BASE_URL", "https://testserver")
# Servers and workers a test starts inherit these: their mail stays in memory, never SMTP.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("PEERRX_ALLOW_DEV_EMAIL", "true")
os.environ["SMS_BACKEND"] = os.environ.get("PEERRX_TEST_SMS_BACKEND", "console")

from peerrx.settings import *  # noqa: F403
from peerrx.settings import CELERY_BROKER_URL, DATABASES

# Each test starts with an empty cache (tests/conftest.py), whatever broker the suite runs on.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False  # the rate-limiting tests turn it back on
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PEERRX_PHONE_SIMULATOR = True

if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise warns when it is missing

# Two test processes may each fan out at once, with their own live servers and workers:
# stay well inside PostgreSQL's default 100 connections.
PEERRX_SMS_SEND_CONCURRENCY = 16

# Parallel test processes (pytest-xdist) each get their own Redis database, so a real
# worker started by one process never takes another process's tasks.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if CELERY_BROKER_URL.startswith("redis://") and _xdist_worker.startswith("gw"):
    _base, _, _db = CELERY_BROKER_URL.rpartition("/")
    _db_number = int(_db) if _db.isdigit() else 0
    CELERY_BROKER_URL = f"{_base}/{_db_number + 1 + int(_xdist_worker[2:])}"
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
PEERRX_MFA_ENFORCED = False  # the second-factor tests turn it back on
