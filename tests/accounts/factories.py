import time
from base64 import b32decode

import factory
from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import County, User
from accounts.staff_group import STAFF_GROUP, sync_staff_group

# The authenticator key every factory-made staff member has (base32, as an app would show it).
TEST_TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery")


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    key = b32decode(TEST_TOTP_SECRET).hex()
    confirmed = True


class StaffUserFactory(UserFactory):
    """Peer-RX staff: a member of the staff group (created by a migration), not a superuser, with
    the authenticator app staff must have (key ``TEST_TOTP_SECRET``)."""

    class Meta:
        skip_postgeneration_save = True

    is_staff = True
    authenticator = factory.RelatedFactory(TOTPDeviceFactory, factory_related_name="user")

    @factory.post_generation
    def staff_group(self, create, extracted, **kwargs):
        if not create:
            return
        group = Group.objects.filter(name=STAFF_GROUP).first()
        if group is None:  # a transactional test flushed what the migration created
            sync_staff_group()
            group = Group.objects.get(name=STAFF_GROUP)
        self.groups.add(group)


class OperatorFactory(UserFactory):
    """An operator who runs Peer-RX: a superuser, with an authenticator like all staff."""

    class Meta:
        skip_postgeneration_save = True

    is_staff = True
    is_superuser = True
    authenticator = factory.RelatedFactory(TOTPDeviceFactory, factory_related_name="user")


def next_totp_code(device: TOTPDevice) -> str:
    """The code the user's app shows now, or the next one if now's was used (codes work once)."""
    device.refresh_from_db()
    otp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    otp.time = time.time()
    if otp.t() <= device.last_t:
        otp.time += (device.last_t + 1 - otp.t()) * device.step
    return f"{otp.token():0{device.digits}d}"


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("name", "state")

    name = "Orange"
    state = "NY"
