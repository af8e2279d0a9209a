"""The embedded broker of ``make run``: kombu's filesystem transport, made safe under a burst.

kombu's filesystem transport (``kombu.transport.filesystem``) creates a message file and only
then locks and writes it, while its consumer moves and reads files without a lock: a consumer
that lists the folder in between takes an empty or half-written file, and ``json.loads`` raises
``JSONDecodeError`` inside the worker, which then dies
(https://github.com/celery/kombu/issues/1551). The same happens to an exchange table
(``*.exchange``) read while it is first created.

This transport keeps the filesystem layout and changes three steps:

- **publish** writes the message to a hidden temporary file in the queue folder and renames it
  into place (``os.rename`` is atomic on one filesystem): a consumer sees a whole message or
  nothing;
- **consume** claims a file by renaming it to a name that is its own (its process id in it)
  before reading it, in the same folder: of two consumers racing for one file exactly one
  wins, and the other moves on to the next file. A file that still cannot be read as JSON is
  set aside (``*.bad``) and logged instead of killing the worker;
- **a new exchange table** is written whole and linked into place, never truncated under a
  reader; and a claimed file whose process died before reading it is put back in the queue.

It is registered by dotted path (``CELERY_BROKER_TRANSPORT = "peerrx.broker:Transport"``) when
``CELERY_BROKER_URL`` is ``filesystem://`` (the default). Why this rather than kombu's SQLAlchemy
transport on SQLite: docs/operations.md, "The embedded broker".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import uuid
from time import monotonic

from kombu.transport import filesystem, virtual
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

# Claimed and temporary files start with a dot, so they never end in ".<queue>.msg" after the
# first dot, the only names kombu's consumer and queue size look at.
_CLAIMED = re.compile(r"^\.(?P<name>.+\.msg)\.(?P<pid>\d+)\.\d+\.claimed$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Channel(filesystem.Channel):
    """A filesystem channel whose messages are published and consumed atomically."""

    _recovered_folders: set[str] = set()
    _recover_lock = threading.Lock()

    def _put(self, queue, payload, **kwargs):
        """Write ``payload`` whole, then rename it into the queue folder."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".{name}.tmp")
        try:
            with open(temporary, "xb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.rename(temporary, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        """Claim the oldest message of ``queue`` by renaming it, then read and remove it."""
        folder = self.data_folder_in
        self._recover_claimed(folder)
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(folder)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(folder, f".{filename}.{os.getpid()}.{threading.get_ident()}.claimed")
            try:
                os.rename(os.path.join(folder, filename), claimed)
            except FileNotFoundError:
                continue  # another consumer took it first
            except OSError as exc:
                raise filesystem.ChannelError(f"Cannot claim {filename!r} from the queue") from exc
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
            except OSError as exc:
                raise filesystem.ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            try:
                message = loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                logger.error(
                    "message file %s is not JSON (%d bytes): set aside as .bad", filename, len(payload)
                )
                with contextlib.suppress(OSError):
                    os.rename(claimed, os.path.join(folder, f".{filename}.bad"))
                continue
            os.remove(claimed)
            return message
        raise filesystem.Empty()

    def _recover_claimed(self, folder: str) -> None:
        """Once per folder and process: put back files claimed by processes that died."""
        if folder in self._recovered_folders:
            return
        with self._recover_lock:
            if folder in self._recovered_folders:
                return
            for filename in os.listdir(folder):
                match = _CLAIMED.match(filename)
                if match and not _pid_alive(int(match["pid"])):
                    with contextlib.suppress(OSError):
                        os.rename(os.path.join(folder, filename), os.path.join(folder, match["name"]))
            self._recovered_folders.add(folder)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        """Create a missing exchange table whole (kombu would truncate it open under a reader)."""
        table = self._exchange_file(exchange)
        if not table.exists():
            self.control_folder.mkdir(parents=True, exist_ok=True)
            row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            temporary = table.with_name(f".{table.name}.{uuid.uuid4()}.tmp")
            temporary.write_bytes(str_to_bytes(dumps([row])))
            try:
                os.link(temporary, table)  # fails if another process created it meanwhile
            except FileExistsError:
                pass
            else:
                temporary.unlink()
                return
            temporary.unlink()
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`'s atomic publish and claim."""

    Channel = Channel
    global_state = virtual.BrokerState()
