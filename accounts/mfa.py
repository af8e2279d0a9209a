"""The second factor: an authenticator app (TOTP) and one-use recovery codes, by django-otp.

Who must have one: Peer-RX staff, and members of an organisation that staff marked
``mfa_required``. Everyone else may set one up. Every event is audited: enrolment,
removal, a reset by staff, a failed code and a recovery code used.
"""

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import agency_membership, location_membership
from accounts.services import record_audit

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def mfa_required_for(user: User) -> bool:
    """Staff always; members of an organisation Peer-RX staff marked "MFA required"."""
    if not settings.PEERRX_MFA_ENFORCED or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    membership = location_membership(user) or agency_membership(user)
    if membership is None:
        return False
    organisation = getattr(membership, "location", None) or getattr(membership, "agency", None)
    return bool(organisation and organisation.mfa_required)


def has_second_factor(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def pending_app_device(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator-app device being set up, created the first time it is asked for."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def confirm_app_device(*, request: HttpRequest, user: User, token: str) -> list[str] | None:
    """Confirm the app with a first code; the session is then verified and new recovery codes issued.

    Returns the recovery codes (shown once), or None when the code was wrong.
    """
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None or not device.verify_token(token.strip()):
        record_audit(actor=user, action="mfa.code_failed", target=user, detail="while setting up the app")
        return None
    # One authenticator app at a time: a new one replaces the old.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user=user)
    otp_login(request, device)
    record_audit(actor=user, action="mfa.enrolled", target=user, detail=APP_DEVICE_NAME)
    return codes


def _new_recovery_codes(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def verify_second_factor(*, request: HttpRequest, user: User, token: str) -> bool:
    """Check a code from the app, or a recovery code (each works once); verify the session on success."""
    token = "".join(token.split()).lower()
    for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
        if token.isdigit() and device.verify_token(token):
            otp_login(request, device)
            record_audit(actor=user, action="mfa.verified", target=user, detail=APP_DEVICE_NAME)
            return True
    for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
        if device.verify_token(token):
            otp_login(request, device)
            left = device.token_set.count()
            record_audit(
                actor=user, action="mfa.recovery_code_used", target=user, detail=f"{left} recovery codes left"
            )
            return True
    record_audit(actor=user, action="mfa.code_failed", target=user, detail="at log-in")
    return False


@transaction.atomic
def remove_second_factor(*, user: User, actor: User, reason: str = "") -> bool:
    """Delete the user's app and recovery codes: by themselves, or by staff for a lost device.

    Returns False when there was nothing to remove.
    """
    removed = (
        TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]
    )
    if not removed:
        return False
    action = "mfa.removed" if actor.pk == user.pk else "mfa.reset"
    record_audit(actor=actor, action=action, target=user, detail=reason)
    return True
