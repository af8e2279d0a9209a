"""A file larger than any may be is dropped as it streams in, and the form says it is too large."""

import io

import pytest
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import RequestFactory
from django.urls import reverse

from core.uploads import OversizedUpload, SizeLimitedUploadHandler
from tests.agencies.factories import AgencyMembershipFactory
from tests.peers.conftest import PDF, pdf_upload
from tests.peers.factories import PeerFactory, credential_type


def _stream(handler, chunks: list[bytes]):
    handler.new_file("document", "big.pdf", "application/pdf", sum(map(len, chunks)))
    passed = [handler.receive_data_chunk(chunk, 0) for chunk in chunks]
    return passed, handler.file_complete(sum(map(len, chunks)))


def test_it_passes_a_file_within_the_limit_to_the_next_handler(settings):
    settings.PEERRX_MAX_UPLOAD_BYTES = 100
    passed, completed = _stream(SizeLimitedUploadHandler(RequestFactory().post("/")), [b"a" * 60, b"b" * 40])
    assert passed == [b"a" * 60, b"b" * 40]
    assert completed is None  # the next handler completes the file


def test_it_keeps_nothing_past_the_limit_but_the_size(settings):
    settings.PEERRX_MAX_UPLOAD_BYTES = 100
    passed, completed = _stream(
        SizeLimitedUploadHandler(RequestFactory().post("/")), [b"a" * 60, b"b" * 60, b"c" * 60]
    )
    assert passed == [b"a" * 60, None, None]
    assert isinstance(completed, OversizedUpload)
    assert (completed.name, completed.size, completed.read()) == ("big.pdf", 180, b"")


@pytest.mark.django_db
def test_it_answers_a_large_credential_document_with_a_form_error_and_writes_little(
    client, settings, monkeypatch
):
    """The probe's 60 MiB upload, scaled down: 64 KiB allowed, 2 MiB sent."""
    settings.PEERRX_MAX_UPLOAD_BYTES = settings.CREDENTIAL_DOCUMENT_MAX_BYTES = 64 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every kept byte goes to a temporary file
    written = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        written.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    supervisor = AgencyMembershipFactory().user
    peer = PeerFactory(agency=supervisor.agency_membership.agency)
    client.force_login(supervisor)
    data = {
        "type": credential_type("CRPA").pk,
        "number": "CRPA-12345",
        "issued_on": "2025-01-15",
        "document": pdf_upload(content=PDF + b"x" * (2 * 1024 * 1024)),
    }
    response = client.post(reverse("peers:credential_add", args=[peer.pk]), data)
    assert response.status_code == 200
    assert "the largest allowed is 64.0" in response.content.decode()
    assert not peer.credentials.exists()
    assert 0 < sum(written) <= 64 * 1024


def test_oversized_upload_reads_as_empty():
    upload = OversizedUpload(name="x.pdf", content_type="application/pdf", size=10**9)
    assert isinstance(upload.file, io.BytesIO) and upload.size == 10**9
