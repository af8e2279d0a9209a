import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.choices import OrganisationStatus
from peers.models import Credential
from tests.accounts.factories import StaffUserFactory
from tests.agencies.factories import AgencyFactory, AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.peers.factories import AvailabilityOverrideFactory, CredentialFactory, PeerFactory

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf_upload(name: str = "certificate.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def supervisor(db):
    """A supervisor of a verified agency: the owner in permission tests."""
    return AgencyMembershipFactory(agency=AgencyFactory(name="Hudson Valley Peer Services")).user


@pytest.fixture
def agency(supervisor):
    return supervisor.agency_membership.agency


@pytest.fixture
def other_supervisor(db):
    """A supervisor of another verified agency: sees none of ``agency``'s objects."""
    return AgencyMembershipFactory(agency=AgencyFactory(name="Catskill Recovery Center")).user


@pytest.fixture
def pending_supervisor(db):
    return AgencyMembershipFactory(agency=AgencyFactory(status=OrganisationStatus.PENDING)).user


@pytest.fixture
def location_user(db):
    return LocationMembershipFactory().user


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def peer(agency):
    return PeerFactory(agency=agency, first_name="Ana", last_name="Rivera", phone="+18455550101")


@pytest.fixture
def credential(peer):
    credential = CredentialFactory(peer=peer, status=Credential.Status.PENDING)
    credential.document.save("certificate.pdf", pdf_upload(), save=True)
    return credential


@pytest.fixture
def override(peer):
    now = dt.datetime.now(dt.UTC)
    return AvailabilityOverrideFactory(
        peer=peer, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=3)
    )
