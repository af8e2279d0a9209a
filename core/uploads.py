"""An upload handler that stops keeping a file once it is larger than any file may be.

Django's own handlers write every byte of an upload to memory or a temporary file, and the form's
size check runs only after the last byte: a 60 MiB file was on disk before it was refused. This
handler, first in ``FILE_UPLOAD_HANDLERS``, passes chunks on to them only while the file is within
``PEERRX_MAX_UPLOAD_BYTES``; past it the rest is counted and dropped, and the form receives an
empty stand-in that carries the real size, so its validator answers "too large" as a form error.
Bodies larger than that are refused before they are read (``core.middleware``, and nginx).
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedUpload(UploadedFile):
    """What remains of a file that was too large: its name, type and size, none of its bytes."""

    def __init__(self, *, name: str, content_type: str | None, size: int) -> None:
        super().__init__(BytesIO(), name=name, content_type=content_type, size=size)


class SizeLimitedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.limit = settings.PEERRX_MAX_UPLOAD_BYTES
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        # None: the handlers after this one (memory, temporary file) get nothing more.
        return raw_data if self.received <= self.limit else None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received <= self.limit:
            return None  # the next handler's file, complete
        return OversizedUpload(name=self.file_name, content_type=self.content_type, size=self.received)
