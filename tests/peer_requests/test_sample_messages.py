"""The sample messages quoted for 10DLC registration are the real templates' output."""

import re
from pathlib import Path

from django.core.management import call_command

from peer_requests.management.commands.sample_messages import as_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "sms-and-twilio.md"


def test_the_docs_quote_exactly_what_the_command_renders():
    quoted = re.search(r"<!-- sample-messages -->\n(.*?)\n<!-- /sample-messages -->", DOC.read_text(), re.S)
    assert quoted, "docs/sms-and-twilio.md lost its sample-messages block"
    assert quoted.group(1).strip() == as_markdown(), (
        "run `python manage.py sample_messages` and update the docs"
    )


def test_the_command_prints_them(capsys):
    call_command("sample_messages")
    out = capsys.readouterr().out
    assert "Reply JOIN to start, STOP to stop" in out
    assert "Msg & data rates may apply." in out
