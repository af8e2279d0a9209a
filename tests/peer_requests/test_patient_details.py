"""Whom the peer asks for holds no patient details: a corpus of good and bad examples."""

import pytest

from peer_requests.forms import RequestForm
from peer_requests.patient_details import problem

GOOD = [
    "Charge nurse, ext. 4410",
    "Jordan at triage",
    "Dr. Patel, social work",
    "the manager on duty",
    "Sam, (845) 555-0123",
    "Front desk x2231",
    "Pat in behavioral health",
    "Nurse station B, bed board",
]
BAD = [
    ("Patient John Smith, DOB 01/02/1960, MRN 12345", "mentions the patient"),
    ("ask for Maria re: pt in room 4", "mentions the patient"),
    ("John, born 1960", "mentions the patient"),
    ("01/02/1960", "date"),
    ("1960-01-02", "date"),
    ("123-45-6789", "social security number"),
    ("record 4451239", "long number"),
    ("the 34 yo in bay 3", "age"),
    ("desk, 45 years old woman", "age"),
    ("young man in bay 3", "describes a person"),
]


@pytest.mark.parametrize("text", GOOD)
def test_staff_names_and_extensions_pass(text):
    assert problem(text) is None


@pytest.mark.parametrize(("text", "why"), BAD)
def test_patient_details_are_refused_saying_why(text, why):
    assert why in problem(text)


@pytest.mark.django_db
def test_the_form_says_why_and_keeps_nothing():
    form = RequestForm({"need": "substance_use", "callback_contact": "Patient John Smith, DOB 01/02/1960"})
    assert not form.is_valid()
    assert "staff name or extension only" in form.errors["callback_contact"][0]


@pytest.mark.django_db
def test_the_service_refuses_it_too():
    from peer_requests.models import PeerRequest
    from peer_requests.services import DispatchError
    from tests.world import make_world, submit

    world = make_world(peers=1)
    with pytest.raises(DispatchError, match="staff name or extension"):
        submit(world, callback_contact="MRN 5551234")
    assert not PeerRequest.objects.exists()
