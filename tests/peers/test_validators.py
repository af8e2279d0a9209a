import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from peers.validators import validate_credential_document
from tests.peers.conftest import PDF, PNG

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


class TestValidateCredentialDocument:
    @pytest.mark.parametrize(
        ("name", "content"), [("a.pdf", PDF), ("b.PNG", PNG), ("c.jpg", JPEG), ("d.jpeg", JPEG)]
    )
    def test_it_accepts_pdf_png_and_jpeg(self, name, content):
        upload = SimpleUploadedFile(name, content)
        validate_credential_document(upload)
        assert upload.tell() == 0  # the file is rewound for saving

    @pytest.mark.parametrize(
        ("name", "content", "code"),
        [
            ("a.exe", b"MZ", "file_type"),
            ("noextension", PDF, "file_type"),
            ("a.pdf", PNG, "file_content"),
            ("a.png", b"<svg></svg>", "file_content"),
        ],
    )
    def test_it_refuses_other_files(self, name, content, code):
        with pytest.raises(ValidationError) as error:
            validate_credential_document(SimpleUploadedFile(name, content))
        assert error.value.code == code

    def test_it_refuses_files_over_the_limit(self, settings):
        settings.CREDENTIAL_DOCUMENT_MAX_BYTES = 1024
        validate_credential_document(SimpleUploadedFile("ok.pdf", PDF + b" " * (1024 - len(PDF))))
        with pytest.raises(ValidationError) as error:
            validate_credential_document(SimpleUploadedFile("big.pdf", PDF + b" " * 1024))
        assert error.value.code == "too_large"
