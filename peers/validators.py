"""Checks on uploaded credential documents, shared by the form and the service."""

from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

# Extension → the magic bytes a real file of that kind starts with; the browser's
# content type is not trusted.
ALLOWED_DOCUMENTS = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}


def validate_credential_document(document: UploadedFile) -> None:
    """A PDF, JPEG or PNG no larger than ``CREDENTIAL_DOCUMENT_MAX_BYTES``."""
    limit = settings.CREDENTIAL_DOCUMENT_MAX_BYTES
    if document.size is not None and document.size > limit:
        raise ValidationError(
            "The document is %(size)s; the largest allowed is %(limit)s.",
            code="too_large",
            params={"size": filesizeformat(document.size), "limit": filesizeformat(limit)},
        )
    suffix = PurePath(document.name or "").suffix.lower()
    signatures = ALLOWED_DOCUMENTS.get(suffix)
    if signatures is None:
        raise ValidationError("Upload a PDF, JPG or PNG file.", code="file_type")
    document.seek(0)
    head = document.read(8)
    document.seek(0)
    if not any(head.startswith(signature) for signature in signatures):
        raise ValidationError(
            "This file is not a real %(kind)s file.", code="file_content", params={"kind": suffix[1:].upper()}
        )
