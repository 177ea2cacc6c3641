"""The sandbox's hosted payment page, served by the app and clearly marked as a test."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rathauskasse.core.money import Money
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.forms import DecisionForm
from rathauskasse.providers.sandbox.models import SandboxState


@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    txn = server.find(reference=reference)
    if txn is None:
        raise Http404("Diese Testzahlung gibt es nicht.")
    # The method the payment was started with is preselected; the payer may pick another label.
    form = DecisionForm(request.POST or None, initial={"payer_method": txn.method})
    if request.method == "POST" and txn.state == SandboxState.STARTED and form.is_valid():
        txn = server.decide(
            reference=reference,
            outcome=server.Outcome(form.cleaned_data["outcome"]),
            payer_method=form.cleaned_data["payer_method"],
        )
        if txn.return_url:
            return HttpResponseRedirect(txn.return_url)
    return render(
        request,
        "sandbox/pay.html",
        {
            "txn": txn,
            "amount": Money(txn.amount_cents),
            "form": form,
            "open": txn.state == SandboxState.STARTED,
        },
    )
