import factory
from django.contrib.auth.models import Group

from accounts.models import County, User
from accounts.staff_group import STAFF_GROUP, sync_staff_group


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
        if not create:
            return
        group = Group.objects.filter(name=STAFF_GROUP).first()
        if group is None:  # a transactional test flushed what the migration created
            sync_staff_group()
            group = Group.objects.get(name=STAFF_GROUP)
        self.groups.add(group)


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
