"""One process at a time for periodic work: a PostgreSQL advisory lock, or none on SQLite.

Two (or more) beats may run for redundancy; each schedules the sweeper and the report rollups,
so the same periodic task can start twice at once on different workers. The work is safe run
twice (every step is a compare-and-set under a row lock), and this lock keeps the second copy
from doing it again at the same moment: whoever does not get the lock skips the run, because
the holder is doing it now. The lock is PostgreSQL's session-level ``pg_try_advisory_lock``:
never waited for, and released by the server if the process or its connection dies, so a
killed worker cannot keep it. SQLite serves one local process tree with one beat: no lock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The signed 64-bit key PostgreSQL's advisory locks take, derived from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """Try to take the lock ``name`` for the block; yields whether this process holds it.

    ``with advisory_lock("peerrx.sweep") as held: if held: ...``. Always True off PostgreSQL.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The connection is gone, and the lock with it: nothing to release. Close it so
                # the next task reconnects rather than reusing a broken session.
                logger.warning("Lost the database connection holding lock %s", name, exc_info=True)
                connection.close()
