from __future__ import annotations

from django import forms

from rathauskasse.providers.sandbox.server import OUTCOME_LABELS, PAYER_METHODS


class DecisionForm(forms.Form):
    payer_method = forms.ChoiceField(
        label="Womit zahlen Sie (nur zur Anzeige)?",
        choices=list(PAYER_METHODS.items()),
        widget=forms.RadioSelect,
        initial="card",
    )
    outcome = forms.ChoiceField(
        label="Was soll passieren?",
        choices=[(key.value, label) for key, label in OUTCOME_LABELS.items()],
        widget=forms.RadioSelect,
        initial="succeed",
    )
