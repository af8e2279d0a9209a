"""Whom the peer asks for is a staff name or extension, never the patient: the text goes to the
chosen peer by SMS. ``problem`` says what in a text looks like a patient detail, or None.

Pure and conservative: it refuses what is plainly a patient identifier (dates, the words
patient, DOB, MRN, an SSN, long record-like numbers, an age), and lets staff names, titles,
extensions and desk phone numbers through.
"""

import re

CHECKS = (
    (
        re.compile(r"\b(patient|pt|dob|d\.o\.b|mrn|ssn|date of birth|medical record|born)\b", re.I),
        "it mentions the patient (patient, DOB, MRN …)",
    ),
    (re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"), "it holds a date"),
    (re.compile(r"\b(19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}\b"), "it holds a date"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "it holds a social security number"),
    (re.compile(r"\b\d{6,}\b"), "it holds a long number like a record number"),
    (re.compile(r"\b\d{1,3}\s*(yo|y/o|yrs?|years?)( old)?\b", re.I), "it holds an age"),
    (re.compile(r"\b(male|female|man|woman|boy|girl)\b", re.I), "it describes a person"),
)


def problem(text: str) -> str | None:
    for pattern, why in CHECKS:
        if pattern.search(text):
            return why
    return None
