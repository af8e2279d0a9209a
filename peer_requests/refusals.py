"""What a text refused for good means. ``SMS_REFUSAL_HANDLER`` names ``handle_refusal``.

21610 (the peer texted STOP to the carrier): Twilio refuses every text to the number until
the peer texts START, so the peer is opted out. 21211/21614 (not a valid mobile number): the
number is flagged, dispatch skips it and the agency sees the flag on its roster. Any failed
text about a request goes on its timeline, except one whose moment passed before it could be
sent (the request had moved on).
"""

from __future__ import annotations

from accounts.services import record_audit
from peer_requests.models import RequestEvent
from peers import consent
from peers.models import ConsentRecord, Peer
from peers.selectors import peer_for_number
from sms.handlers import Refusal


def handle_refusal(*, refusal: Refusal) -> None:
    if refusal.opted_out or refusal.bad_number:
        _flag_peer(refusal)
    if refusal.request_id is not None and not refusal.expired:
        RequestEvent.objects.create(
            request_id=refusal.request_id,
            kind=RequestEvent.Kind.SMS_FAILED,
            at=refusal.at,
            peer_id=refusal.peer_id,
            detail=f"{refusal.kind_label} to {refusal.to}: {refusal.code} {refusal.text}"[:300],
        )


def _flag_peer(refusal: Refusal) -> None:
    if refusal.peer_id is not None:
        peer = Peer.objects.filter(pk=refusal.peer_id).first()
    else:
        peer = peer_for_number(refusal.to)
    if peer is None:
        return
    detail = f"SMS error {refusal.code}: {refusal.text}"
    if refusal.opted_out:
        # The carrier's word is the peer's: recorded with the consent history, once.
        if peer.opted_out_at is None and consent.record_opt_out(
            peer=peer, source=ConsentRecord.Source.CARRIER, text=detail, now=refusal.at
        ):
            record_audit(
                actor=None, action="peer.opted_out_by_provider", target=peer, detail=detail, at=refusal.at
            )
        return
    # Conditional: a second refusal of the same number records nothing new.
    if Peer.objects.filter(pk=peer.pk, phone_flagged_at__isnull=True).update(phone_flagged_at=refusal.at):
        record_audit(
            actor=None,
            action="peer.phone_flagged",
            target=peer,
            detail=detail,
            at=refusal.at,
        )
