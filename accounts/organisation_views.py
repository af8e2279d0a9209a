"""The pages every organisation has, written once: sign-up, details and members.

A location's pages and an agency's differ only in names (forms, services, templates,
URL names), so each app binds these views to its own in its ``views.py``. Thin, like
every view: forms validate, services write.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.organisations import (
    confirm_signup,
    invite_member,
    refuse_signup_quietly,
    set_member_active,
    set_member_admin,
    signup_allowed,
)
from accounts.permissions import organisation_admin_required
from accounts.selectors import email_in_use, organisation_members, pending_changes, username_in_use
from core.addresses import client_address

View = Callable[..., HttpResponse]

# The first member followed the link mailed to them: logged in without typing the password again.
SIGNUP_LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
# The address a sign-up gave, for the "check your email" page to repeat back.
SIGNUP_EMAIL_SESSION_KEY = "peerrx_signup_email"


@dataclass(frozen=True)
class OrganisationPages:
    """The shared pages bound to one kind of organisation.

    ``model_name`` is the organisation's ("location"): the membership's field to it,
    the attribute ``member_required`` puts on the request and the template's variable.
    ``namespace`` is the app's URL namespace ("locations"), with ``home`` and ``details``.
    """

    model_name: str
    namespace: str
    member_required: Callable[..., Callable[[View], View]]

    def url(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def signup(self, *, form_class: type[forms.Form], register: Callable, template: str) -> View:
        """The public sign-up page: the organisation, pending, and its first member, who confirms
        their email before they can log in. The answer is the same whether or not the email or
        username was taken, so the page tells a stranger nothing about other accounts."""

        @require_http_methods(["GET", "POST"])
        def view(request: HttpRequest) -> HttpResponse:
            if request.user.is_authenticated:
                messages.info(
                    request, "You are already logged in. Log out first to register another organisation."
                )
                return redirect("home")
            form = form_class(request.POST or None)
            if request.method == "POST" and form.is_valid():
                if not signup_allowed(address=client_address(request) or ""):
                    form.add_error(
                        None, "Too many sign-ups from your network in the last hour. Try again later."
                    )
                    return render(request, template, {"form": form}, status=429)
                arguments = form.service_arguments()
                email_taken = email_in_use(arguments["email"])
                if email_taken or username_in_use(arguments["username"]):
                    refuse_signup_quietly(
                        email=arguments["email"],
                        username=arguments["username"],
                        organisation_name=arguments["name"],
                        email_taken=email_taken,
                    )
                else:
                    register(**arguments)
                request.session[SIGNUP_EMAIL_SESSION_KEY] = arguments["email"]
                return redirect("signup_sent")
            return render(request, template, {"form": form})

        return view

    def details(self, *, form_class: type[forms.Form], update: Callable, template: str) -> View:
        """The organisation's own details, open while it awaits verification too."""

        @self.member_required(verified=False)
        @require_http_methods(["GET", "POST"])
        def view(request: HttpRequest) -> HttpResponse:
            organisation = getattr(request, self.model_name)
            form = form_class(request.POST or None, initial=form_class.initial_for(organisation))
            if request.method == "POST" and form.is_valid():
                saved = update(
                    **{self.model_name: organisation}, actor=request.user, **form.service_arguments()
                )
                if saved.changed:
                    messages.success(request, "Details saved.")
                if saved.held:
                    messages.info(
                        request,
                        f"Waiting for Peer-RX review: {', '.join(saved.held)}. "
                        "The current values stay in force until the Peer-RX team approves.",
                    )
                if not saved:
                    messages.success(request, "Nothing changed.")
                return redirect(self.url("details"))
            context = {
                self.model_name: organisation,
                "form": form,
                "pending_changes": pending_changes(organisation=organisation),
            }
            return render(request, template, context)

        return view

    def members(self, *, form_class: type[forms.Form], template: str, page: str) -> View:
        """The members of a verified organisation; its admins also get a form to invite one more.

        ``page`` is this page's URL name within the namespace, where the view goes back to.
        """

        @self.member_required
        @require_http_methods(["GET", "POST"])
        def view(request: HttpRequest) -> HttpResponse:
            organisation = getattr(request, self.model_name)
            is_admin = request.membership.is_admin
            if request.method == "POST" and not is_admin:
                raise PermissionDenied("Only your organisation's admins can add colleagues.")
            form = form_class(request.POST or None) if is_admin else None
            if form is not None and request.method == "POST" and form.is_valid():
                membership = invite_member(
                    organisation=organisation, invited_by=request.user, **form.cleaned_data
                )
                messages.success(
                    request,
                    f"{membership.user} was added. "
                    f"We emailed {membership.user.email} a link to choose a password.",
                )
                return redirect(self.url(page))
            members = organisation_members(organisation=organisation)
            return render(
                request,
                template,
                {
                    self.model_name: organisation,
                    "members": members,
                    "form": form,
                    "viewer": request.membership,
                },
            )

        return view

    def _member_change(
        self, *, page: str, change: Callable, done: Callable[[models.Model, bool], str]
    ) -> View:
        """A POST by an admin changing one colleague (``flag`` comes from the URL); back to ``page``."""

        @self.member_required
        @organisation_admin_required
        @require_POST
        def view(request: HttpRequest, pk: int, flag: bool) -> HttpResponse:
            organisation = getattr(request, self.model_name)
            # Scoped to the user's own organisation: another one's member is simply not found.
            membership = get_object_or_404(organisation.memberships.select_related("user"), pk=pk)
            try:
                changed = change(membership, flag, request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                if changed:
                    messages.success(request, done(membership, flag))
            return redirect(self.url(page))

        return view

    def member_active(self, *, page: str) -> View:
        """Deactivate or reactivate one member (``flag``: active)."""
        return self._member_change(
            page=page,
            change=lambda membership, flag, actor: set_member_active(
                membership=membership, active=flag, actor=actor
            ),
            done=lambda membership, flag: (
                f"{membership.user} " + ("can log in again." if flag else "can no longer log in.")
            ),
        )

    def member_admin(self, *, page: str) -> View:
        """Make one member an admin, or take it back (``flag``: admin)."""
        return self._member_change(
            page=page,
            change=lambda membership, flag, actor: set_member_admin(
                membership=membership, admin=flag, actor=actor
            ),
            done=lambda membership, flag: (
                f"{membership.user} " + ("is now an admin." if flag else "is no longer an admin.")
            ),
        )


@require_http_methods(["GET"])
def signup_sent(request: HttpRequest) -> HttpResponse:
    """ "Check your email": what every sign-up answers, whatever happened to it."""
    return render(
        request, "accounts/signup_sent.html", {"email": request.session.get(SIGNUP_EMAIL_SESSION_KEY)}
    )


@require_http_methods(["GET"])
def confirm_signup_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link of the sign-up mail: the first member's account becomes active, they are
    logged in and land on their organisation's home (awaiting verification)."""
    try:
        user = get_user_model().objects.get(pk=int(urlsafe_base64_decode(uidb64).decode()))
    except (ValueError, OverflowError, UnicodeDecodeError, get_user_model().DoesNotExist):
        user = None
    if user is None or user.is_active or not default_token_generator.check_token(user, token):
        return render(request, "accounts/signup_link_invalid.html", status=400)
    membership = confirm_signup(user=user)
    if membership is None:
        return render(request, "accounts/signup_link_invalid.html", status=400)
    login(request, user, backend=SIGNUP_LOGIN_BACKEND)
    organisation = getattr(membership, "location", None) or membership.agency
    messages.success(request, f"{organisation} is registered and awaiting verification.")
    return redirect("locations:home" if hasattr(membership, "location") else "agencies:home")
