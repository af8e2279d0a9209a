"""Rules for usernames and passwords that Django's own validators leave open."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# ASCII letters, digits and . - _ @ only: no look-alike letters from other scripts, no spaces.
validate_username = RegexValidator(
    regex=r"^[A-Za-z0-9.@_-]+\Z",
    message="Enter a valid username: letters A-Z, digits and . - _ @ only.",
    code="invalid_username",
)


class RepetitivePasswordValidator:
    """Refuse a password of too few different characters: ``aaaaaaaaaaaa``, ``abababababab``.

    Such passwords pass the length check but are among the first a guesser tries. Counting
    distinct characters (case-insensitive) also catches any short unit repeated.
    """

    def __init__(self, min_distinct: int = 5):
        self.min_distinct = min_distinct

    def validate(self, password: str, user=None) -> None:
        if len(set(password.lower())) < self.min_distinct:
            raise ValidationError(
                "This password repeats the same few characters. Use at least %(min)d different ones.",
                code="password_repetitive",
                params={"min": self.min_distinct},
            )

    def get_help_text(self) -> str:
        return f"Your password must use at least {self.min_distinct} different characters."
