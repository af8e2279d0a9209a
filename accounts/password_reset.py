"""Password-reset mail whose link points at Peer-RX's public address, whatever Host was sent.

Django's PasswordResetView builds the link from the request (``get_current_site`` and
``is_secure``), so a request with ``Host: attacker.example`` (allowed by a loose ALLOWED_HOSTS, or
forwarded by a proxy) mailed a working reset link to that host. The form here always passes
``PEERRX_PUBLIC_BASE_URL``'s host and scheme instead, as the invitation mail does.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView


class PublicLinkPasswordResetForm(PasswordResetForm):
    def save(self, **kwargs) -> None:
        public = urlsplit(settings.PEERRX_PUBLIC_BASE_URL)
        kwargs["domain_override"] = public.netloc
        kwargs["use_https"] = public.scheme == "https"
        super().save(**kwargs)


password_reset = PasswordResetView.as_view(form_class=PublicLinkPasswordResetForm)
