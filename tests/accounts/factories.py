import factory
from django.contrib.auth.models import Group

from accounts.models import County, User
from accounts.staff_group import STAFF_GROUP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery")


class StaffUserFactory(UserFactory):
    """Peer-RX staff: a member of the staff group (created by a migration), not a superuser."""

    is_staff = True

    @factory.post_generation
    def staff_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=STAFF_GROUP))


class OperatorFactory(UserFactory):
    """An operator who runs Peer-RX: a superuser."""

    is_staff = True
    is_superuser = True


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("name", "state")

    name = "Orange"
    state = "NY"
