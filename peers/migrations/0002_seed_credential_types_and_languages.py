from django.db import migrations

# (code, name, issuing body, state, mental health, substance use, provisional)
CREDENTIAL_TYPES = [
    ("CRPA", "Certified Recovery Peer Advocate", "NYCB / OASAS", "NY", False, True, False),
    ("CRPA-P", "Certified Recovery Peer Advocate – Provisional", "NYCB / OASAS", "NY", False, True, True),
    (
        "NYCPS",
        "New York Certified Peer Specialist",
        "NY Peer Specialist Certification Board",
        "NY",
        True,
        False,
        False,
    ),
    (
        "NYCPS-P",
        "New York Certified Peer Specialist – Provisional",
        "NY Peer Specialist Certification Board",
        "NY",
        True,
        False,
        True,
    ),
    ("CPRS", "Certified Peer Recovery Specialist", "IC&RC", "", True, True, False),
    ("CRS", "Certified Recovery Specialist", "Pennsylvania Certification Board", "PA", False, True, False),
    ("CPS", "Certified Peer Specialist", "Pennsylvania Certification Board", "PA", True, False, False),
    ("CPSS", "Certified Peer Support Specialist", "State certification board", "", True, False, False),
    (
        "CRSS",
        "Certified Recovery Support Specialist",
        "Illinois Certification Board",
        "IL",
        True,
        True,
        False,
    ),
]

LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese"),
    ("ht", "Haitian Creole"),
    ("ru", "Russian"),
    ("bn", "Bengali"),
    ("ar", "Arabic"),
    ("ko", "Korean"),
    ("fr", "French"),
    ("pl", "Polish"),
    ("yi", "Yiddish"),
    ("ase", "American Sign Language"),
]


def seed(apps, schema_editor):
    CredentialType = apps.get_model("peers", "CredentialType")
    Language = apps.get_model("peers", "Language")
    for code, name, body, state, mental_health, substance_use, provisional in CREDENTIAL_TYPES:
        CredentialType.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "issuing_body": body,
                "state": state,
                "qualifies_mental_health": mental_health,
                "qualifies_substance_use": substance_use,
                "is_provisional": provisional,
            },
        )
    for code, name in LANGUAGES:
        Language.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("peers", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
