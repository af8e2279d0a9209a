from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from core.locks import advisory_lock, lock_key

pytestmark = pytest.mark.django_db


@contextmanager
def held_elsewhere(name: str) -> Iterator[None]:
    """Hold the advisory lock ``name`` from another PostgreSQL session, as a second worker would."""
    import psycopg2

    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key(name)])
        yield
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(name)])
    finally:
        other.close()


def test_it_derives_a_stable_signed_64_bit_key():
    assert lock_key("peerrx.sweep") == lock_key("peerrx.sweep")
    assert lock_key("peerrx.sweep") != lock_key("peerrx.report_rollups")
    assert -(2**63) <= lock_key("peerrx.sweep") < 2**63


@pytest.mark.postgres
def test_only_one_session_holds_it_at_a_time(require_postgres):
    with advisory_lock("test.lock") as first:
        assert first
        with held_elsewhere("test.other"):
            pass
    with held_elsewhere("test.lock"), advisory_lock("test.lock") as second:
        assert not second
    with advisory_lock("test.lock") as third:  # released by the other session
        assert third


@pytest.mark.postgres
def test_it_is_released_at_the_end_of_the_block(require_postgres):
    with advisory_lock("test.lock") as held:
        assert held
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone()[0] == 0


def test_off_postgresql_there_is_no_lock(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with advisory_lock("test.lock") as held:
        assert held
