"""Settings come from the environment, and bad or unsafe values stop start-up clearly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_choice, env_fraction, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "a-production-secret-key-that-is-long-enough-0123456789"
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "peer-rx.example.org",
    "PEERRX_PUBLIC_BASE_URL": "https://peer-rx.example.org",
}


def _inherited_env() -> dict[str, str]:
    """This process's environment without the variables the test suite sets for itself."""
    ours = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SECURE_SSL_REDIRECT",
        "PEERRX_PUBLIC_BASE_URL",
        "EMAIL_BACKEND",
        "PEERRX_ALLOW_DEV_EMAIL",
    }
    return {k: v for k, v in os.environ.items() if k not in ours}


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the real settings in a fresh interpreter, as gunicorn or celery would."""
    clean = _inherited_env()
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "peerrx.settings"
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


class TestProductionRefusals:
    def test_it_refuses_the_default_secret_key_when_debug_is_off(self):
        result = _start({"DEBUG": "false", "ALLOWED_HOSTS": "peer-rx.example.org"})
        assert result.returncode != 0
        assert "SECRET_KEY must be set" in result.stderr

    def test_it_refuses_empty_allowed_hosts_when_debug_is_off(self):
        result = _start({"DEBUG": "false", "SECRET_KEY": GOOD_KEY})
        assert result.returncode != 0
        assert "ALLOWED_HOSTS must list" in result.stderr

    def test_it_starts_with_production_values(self):
        result = _start(PRODUCTION)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "False"

    def test_it_starts_in_debug_with_defaults(self):
        result = _start({"DEBUG": "true"})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"

    def test_it_names_the_variable_on_a_bad_number(self):
        result = _start({"DEBUG": "true", "PEERRX_SELECTION_SECONDS": "ten"})
        assert result.returncode != 0
        assert "PEERRX_SELECTION_SECONDS must be a whole number" in result.stderr

    def test_it_refuses_expiry_before_selection(self):
        result = _start({"DEBUG": "true", "PEERRX_SELECTION_SECONDS": "600", "PEERRX_EXPIRY_SECONDS": "60"})
        assert result.returncode != 0
        assert "PEERRX_EXPIRY_SECONDS must be longer" in result.stderr

    def test_it_refuses_twilio_without_credentials(self):
        result = _start({"DEBUG": "true", "SMS_BACKEND": "twilio"})
        assert result.returncode != 0
        assert "TWILIO_ACCOUNT_SID" in result.stderr

    def test_check_deploy_is_clean_with_production_values(self):
        env = _inherited_env()
        env.update({**PRODUCTION, "DJANGO_SETTINGS_MODULE": "peerrx.settings"})
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout


class TestProductionEmailAndLinks:
    @pytest.mark.parametrize("backend", ["console", "locmem", "dummy", "filebased"])
    def test_it_refuses_a_development_email_backend_when_debug_is_off(self, backend):
        result = _start({**PRODUCTION, "EMAIL_BACKEND": f"django.core.mail.backends.{backend}.EmailBackend"})
        assert result.returncode != 0
        assert "EMAIL_BACKEND=" in result.stderr and "PEERRX_ALLOW_DEV_EMAIL" in result.stderr

    def test_it_allows_a_development_email_backend_when_told_to(self):
        result = _start(
            {
                **PRODUCTION,
                "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
                "PEERRX_ALLOW_DEV_EMAIL": "true",
            }
        )
        assert result.returncode == 0, result.stderr

    def test_it_sends_mail_by_smtp_by_default_when_debug_is_off(self):
        env = _inherited_env() | PRODUCTION | {"DJANGO_SETTINGS_MODULE": "peerrx.settings"}
        code = "import django; django.setup(); from django.conf import settings as s; print(s.EMAIL_BACKEND)"
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend", result.stderr

    def test_it_refuses_allowed_hosts_star_when_debug_is_off(self):
        result = _start({**PRODUCTION, "ALLOWED_HOSTS": "peer-rx.example.org,*"})
        assert result.returncode != 0
        assert "ALLOWED_HOSTS must not be *" in result.stderr

    def test_it_allows_a_leading_dot_for_subdomains(self):
        result = _start({**PRODUCTION, "ALLOWED_HOSTS": ".peer-rx.example.org"})
        assert result.returncode == 0, result.stderr

    @pytest.mark.parametrize("url", ["http://peer-rx.example.org", "http://127.0.0.1:8000", None])
    def test_it_requires_an_https_public_base_url_when_debug_is_off(self, url):
        env = {**PRODUCTION}
        if url is None:
            del env["PEERRX_PUBLIC_BASE_URL"]
        else:
            env["PEERRX_PUBLIC_BASE_URL"] = url
        result = _start(env)
        assert result.returncode != 0
        assert "PEERRX_PUBLIC_BASE_URL must be the https:// address" in result.stderr


class TestSettingsThatCannotWork:
    """Each bad value stops start-up with a message that names the variable, in debug too."""

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("PEERRX_SWEEP_SECONDS", "nan", "PEERRX_SWEEP_SECONDS must be a finite number"),
            ("PEERRX_SWEEP_SECONDS", "inf", "PEERRX_SWEEP_SECONDS must be a finite number"),
            ("PEERRX_ASSIGNMENT_HOURS", "-inf", "PEERRX_ASSIGNMENT_HOURS must be a finite number"),
            ("PEERRX_TIME_ZONE", "Mars/Olympus", "PEERRX_TIME_ZONE must be an IANA time zone"),
            ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
            ("PHONENUMBER_DEFAULT_REGION", "XX", "PHONENUMBER_DEFAULT_REGION must be a two-letter"),
            ("CSRF_TRUSTED_ORIGINS", "peer-rx.example.org", "CSRF_TRUSTED_ORIGINS must be an absolute URL"),
            ("PEERRX_PUBLIC_BASE_URL", "not-a-url", "PEERRX_PUBLIC_BASE_URL must be an absolute URL"),
            ("PEERRX_PUBLIC_BASE_URL", "ftp://peer-rx.example.org", "PEERRX_PUBLIC_BASE_URL must be an"),
            ("EMAIL_BACKEND", "django.core.mail.backends.pigeon.EmailBackend", "EMAIL_BACKEND must be an"),
            ("SMS_BACKEND", "pigeon", "SMS_BACKEND must be one of"),
            ("DATABASE_URL", "mysql2://u:secret@db/peerrx", "DATABASE_URL must be a postgres://"),
            ("DATABASE_URL", "just-a-word", "DATABASE_URL must be a postgres://"),
        ],
    )
    def test_it_names_the_variable(self, name, value, message):
        result = _start({"DEBUG": "true", name: value})
        assert result.returncode != 0
        assert message in result.stderr

    def test_it_keeps_the_database_password_out_of_the_message(self):
        result = _start({"DEBUG": "true", "DATABASE_URL": "mysql2://u:hunter2secret@db/peerrx"})
        assert "hunter2secret" not in result.stderr

    def test_it_accepts_good_values(self):
        result = _start(
            {
                "DEBUG": "true",
                "PEERRX_SWEEP_SECONDS": "2.5",
                "PEERRX_TIME_ZONE": "America/Chicago",
                "LOG_LEVEL": "warning",
                "PHONENUMBER_DEFAULT_REGION": "ca",
                "CSRF_TRUSTED_ORIGINS": "https://peer-rx.example.org,http://localhost:8000",
                "PEERRX_PUBLIC_BASE_URL": "http://localhost:8000/",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            }
        )
        assert result.returncode == 0, result.stderr


class TestEnvReaders:
    def test_it_reads_booleans(self, monkeypatch):
        monkeypatch.setenv("FLAG", "Yes")
        assert env_bool("FLAG") is True
        monkeypatch.setenv("FLAG", "off")
        assert env_bool("FLAG", True) is False

    def test_it_rejects_a_word_that_is_not_a_boolean(self, monkeypatch):
        monkeypatch.setenv("FLAG", "maybe")
        with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
            env_bool("FLAG")

    def test_it_enforces_a_minimum(self, monkeypatch):
        monkeypatch.setenv("COUNT", "0")
        with pytest.raises(ImproperlyConfigured, match="COUNT must be at least 1"):
            env_int("COUNT", 5, minimum=1)

    def test_it_splits_lists_and_drops_blanks(self, monkeypatch):
        monkeypatch.setenv("HOSTS", " a.example, ,b.example ")
        assert env_list("HOSTS") == ["a.example", "b.example"]

    @pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1.5", "-0.1", "a lot"])
    def test_a_fraction_is_a_finite_number_from_0_to_1(self, monkeypatch, raw):
        monkeypatch.setenv("PEERRX_CONSOLE_SMS_FAILURE_RATE", raw)
        with pytest.raises(ImproperlyConfigured, match="PEERRX_CONSOLE_SMS_FAILURE_RATE must be"):
            env_fraction("PEERRX_CONSOLE_SMS_FAILURE_RATE", 0.0)

    @pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("0.05", 0.05), ("1", 1.0), ("", 0.0)])
    def test_it_reads_a_fraction(self, monkeypatch, raw, value):
        monkeypatch.setenv("PEERRX_CONSOLE_SMS_FAILURE_RATE", raw)
        assert env_fraction("PEERRX_CONSOLE_SMS_FAILURE_RATE", 0.0) == value

    def test_the_public_url_follows_peerrx_port_in_local_runs(self):
        env = {**_inherited_env(), "DEBUG": "true", "PEERRX_PORT": "8401"}
        env.pop("PEERRX_PUBLIC_BASE_URL", None)
        env["DJANGO_SETTINGS_MODULE"] = "peerrx.settings"
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.PEERRX_PUBLIC_BASE_URL)"
        )
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.stdout.strip() == "http://127.0.0.1:8401", result.stderr

    def test_it_limits_choices(self, monkeypatch):
        monkeypatch.setenv("SMS_BACKEND", "carrier-pigeon")
        with pytest.raises(ImproperlyConfigured, match="SMS_BACKEND must be one of"):
            env_choice("SMS_BACKEND", "console", {"console", "twilio"})


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit(require_postgres):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
