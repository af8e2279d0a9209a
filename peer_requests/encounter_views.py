"""Agency supervisors' encounters: their peers' finished assignments, and the outcome each ended
with (texted by the peer after DONE, set or corrected here). Codes only, no patient details."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import agency_member_required
from peer_requests import selectors, services
from peer_requests.models import EncounterOutcome
from peer_requests.services import DispatchError

PAGE_SIZE = 25
KIT_CHOICES = [("", "Not said"), ("yes", "Yes"), ("no", "No")]


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="How it ended", choices=EncounterOutcome.choices)
    kit = forms.ChoiceField(label="Naloxone kit given", choices=KIT_CHOICES, required=False)

    def kit_given(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data["kit"])


@agency_member_required(verified=True)
def encounters(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.agency_encounters(agency=request.agency), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "peer_requests/encounters.html",
        {"agency": request.agency, "page": page, "outcomes": EncounterOutcome.choices, "kits": KIT_CHOICES},
    )


@require_POST
@agency_member_required(verified=True)
def encounter_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.agency_encounters(agency=request.agency).filter(pk=pk).first()
    if encounter is None:
        raise Http404("No such encounter of your peers.")
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how the encounter ended.")
        return redirect("encounters:list")
    try:
        services.record_outcome(
            peer_request=encounter,
            outcome=form.cleaned_data["outcome"],
            naloxone_kit_given=form.kit_given(),
            actor=request.user,
        )
    except DispatchError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Outcome of request {encounter.code} saved.")
    return redirect("encounters:list")
