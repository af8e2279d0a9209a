"""The error mail to ``ADMINS`` (Django's ``mail_admins`` on a 500) without personal data."""

from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from peerrx.errors import PHONE_PATTERN, SENSITIVE_KEYS, scrub_string


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """The error mail to ``ADMINS`` without the request's form fields or Twilio's parameters
    (numbers and bodies), and with phone numbers scrubbed from frame variables."""

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if name.lower() in SENSITIVE_KEYS else _scrub_repr(value))
            for name, value in variables
        ]


def _scrub_repr(value: Any) -> Any:
    # The technical page shows a variable by its repr: scrubbing the repr hides the numbers.
    return scrub_string(repr(value)) if PHONE_PATTERN.search(repr(value)) else value
