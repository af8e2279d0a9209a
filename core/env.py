"""Typed readers for settings that come from the environment.

Every setting Peer-RX reads from the environment goes through these helpers, so a
bad value stops start-up with a message naming the variable instead of a traceback
somewhere later.
"""

import logging
import math
import os
import zoneinfo
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    # float() reads "nan" and "inf"; neither is a usable interval, count or rate.
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be a finite number, not {raw!r}.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_fraction(name: str, default: float) -> float:
    """A finite number from 0 to 1 (a share, a rate): NaN, infinities and values outside refused."""
    value = env_float(name, default, minimum=0.0)
    if not math.isfinite(value) or value > 1:
        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, not {os.environ.get(name)!r}.")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, not {value!r}.")
    return value


def env_url(name: str, default: str, *, schemes: frozenset[str] = frozenset({"http", "https"})) -> str:
    """An absolute URL (scheme and host) with one of ``schemes``, without a trailing slash."""
    value = os.environ.get(name, default).strip()
    check_url(name, value, schemes=schemes)
    return value.rstrip("/")


def check_url(name: str, value: str, *, schemes: frozenset[str] = frozenset({"http", "https"})) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an absolute URL starting with {' or '.join(f'{s}://' for s in sorted(schemes))} "
            f"and naming a host, not {value!r}."
        )


def env_origins(name: str) -> list[str]:
    """A comma-separated list of origins, each with its scheme (https://peer-rx.example.org)."""
    origins = env_list(name)
    for origin in origins:
        check_url(name, origin)
    return origins


def env_time_zone(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone such as America/New_York, not {value!r}."
        ) from None
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def env_log_level(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip().upper()
    if value not in LOG_LEVELS or not isinstance(logging.getLevelName(value), int):
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(LOG_LEVELS)}, not {value!r}.")
    return value


def env_phone_region(name: str, default: str) -> str:
    import phonenumbers

    value = os.environ.get(name, default).strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ImproperlyConfigured(f"{name} must be a two-letter country code such as US, not {value!r}.")
    return value


def env_import_path(name: str, default: str) -> str:
    """A dotted path to a class or function that can be imported now, not at the first use."""
    value = os.environ.get(name, default).strip()
    try:
        import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{name} must be an importable dotted path, not {value!r} ({exc})."
        ) from None
    return value


DATABASE_SCHEMES = {
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "pgsql": "PostgreSQL",
    "sqlite": "SQLite",
}


def env_database_url(name: str, default: str) -> str:
    """A PostgreSQL or SQLite URL: the only databases Peer-RX is built and tested on."""
    value = os.environ.get(name, default).strip()
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme not in DATABASE_SCHEMES:
        # Only the scheme is quoted back: the rest of the URL may hold a password.
        found = f"a {scheme}:// URL" if scheme else "a value without a scheme"
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// (or postgresql://) or sqlite:/// URL, not {found}."
        )
    return value
