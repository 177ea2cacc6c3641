"""The cash office's clearing queue: the list of lines, a line's page, and its actions.

Views read the form, call one service of `reconciliation.clearing`, and show the result; the
rules (amounts add up, nothing assigned twice, what may be undone) are the services'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from rathauskasse.backoffice import forms
from rathauskasse.backoffice.access import CASH_OFFICE, requires
from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError, NotFound, ValidationFailed
from rathauskasse.core.money import InvalidAmount, Money
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.reconciliation import clearing, selectors
from rathauskasse.reconciliation.models import ClearingStatus, Rule

PAGE_SIZE = 50
ASSIGN_ROWS = 5
_STATUS_TABS = (
    ("todo", gettext_lazy("zu erledigen")),
    (ClearingStatus.OPEN, ClearingStatus.OPEN.label),
    (ClearingStatus.REVIEW, ClearingStatus.REVIEW.label),
    (ClearingStatus.HELD, ClearingStatus.HELD.label),
    (ClearingStatus.REFUND, ClearingStatus.REFUND.label),
    (ClearingStatus.CLEARED, ClearingStatus.CLEARED.label),
    (ClearingStatus.RETURNED, ClearingStatus.RETURNED.label),
    ("all", gettext_lazy("alle")),
)


def _amount(text: str, errors: dict[str, str], key: str) -> int | None:
    if not text.strip():
        return None
    try:
        return Money.parse(text).cents
    except InvalidAmount:
        errors[key] = _("„%(text)s“ ist kein Betrag. Beispiel: 45,00") % {"text": text}
        return None


def _date(text: str, errors: dict[str, str], key: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    errors[key] = _("„%(text)s“ ist kein Datum. Beispiel: 30.11.2026") % {"text": text}
    return None


@never_cache
@require_GET
@requires(*CASH_OFFICE)
def queue(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    query = request.GET
    errors: dict[str, str] = {}
    status = query.get("status", "todo")
    if status not in {value for value, _label in _STATUS_TABS}:
        status = "todo"
    where = selectors.QueueFilter(
        status=status,
        amount_from_cents=_amount(query.get("betrag_von", ""), errors, "betrag_von"),
        amount_to_cents=_amount(query.get("betrag_bis", ""), errors, "betrag_bis"),
        date_from=_date(query.get("datum_von", ""), errors, "datum_von"),
        date_to=_date(query.get("datum_bis", ""), errors, "datum_bis"),
        name=query.get("name", "")[:140],
        text=query.get("text", "")[:140],
    )
    filter_fields = [
        forms.field(
            "betrag_von",
            _("Betrag ab (€)"),
            value=query.get("betrag_von", ""),
            error=errors.get("betrag_von", ""),
            inputmode="decimal",
        ),
        forms.field(
            "betrag_bis",
            _("Betrag bis (€)"),
            value=query.get("betrag_bis", ""),
            error=errors.get("betrag_bis", ""),
            inputmode="decimal",
        ),
        forms.field(
            "datum_von",
            _("Buchungstag ab"),
            value=query.get("datum_von", ""),
            error=errors.get("datum_von", ""),
            input_type="date",
        ),
        forms.field(
            "datum_bis",
            _("Buchungstag bis"),
            value=query.get("datum_bis", ""),
            error=errors.get("datum_bis", ""),
            input_type="date",
        ),
        forms.field("name", _("Name des Zahlers"), value=where.name),
        forms.field("text", _("Verwendungszweck oder Referenz"), value=where.text),
    ]
    page = Paginator(selectors.queue(organisation=organisation, where=where), PAGE_SIZE).get_page(
        query.get("seite")
    )
    counts = selectors.queue_counts(organisation=organisation)
    keep = query.copy()
    keep.pop("seite", None)
    tabs = []
    for value, label in _STATUS_TABS:
        link = keep.copy()
        link["status"] = value
        tabs.append(
            {
                "value": value,
                "label": label,
                "count": counts.get(value) if value != "all" else None,
                "query": link.urlencode(),
            }
        )
    return render(
        request,
        "backoffice/clearing_list.html",
        {
            "organisation": organisation,
            "nav": "clearing",
            "status": status,
            "tabs": tabs,
            "filter_fields": filter_fields,
            "error_list": forms.error_list(filter_fields),
            "page": page,
            "page_query": keep.urlencode(),
            "scheme": Scheme.of(organisation),
        },
        status=422 if errors else 200,
    )


def _line_or_404(organisation: Organisation, line_id: int) -> Any:
    try:
        return selectors.get_line(organisation=organisation, line_id=line_id)
    except NotFound as exc:
        raise Http404(str(exc)) from None


def _assign_fields(values: list[tuple[str, str]], errors: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for index, (kz, amount) in enumerate(values):
        rows.append(
            {
                "kz": forms.field(
                    f"kz_{index}",
                    _("Kassenzeichen %(n)d") % {"n": index + 1},
                    value=kz,
                    error=errors.get(f"{index}.kassenzeichen", ""),
                    required=index == 0,
                ),
                "amount": forms.field(
                    f"betrag_{index}",
                    _("Betrag %(n)d (€)") % {"n": index + 1},
                    value=amount,
                    error=errors.get(f"{index}.amount", ""),
                    required=index == 0,
                    inputmode="decimal",
                ),
            }
        )
    return rows


def _render_line(
    request: HttpRequest,
    organisation: Organisation,
    line: Any,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    values = values or {}
    info = selectors.detail(organisation=organisation, line=line)
    scheme = Scheme.of(organisation)
    left = Money(info.suspense_left_cents).format_de(symbol=False)
    prefill = request.GET.get("zuordnen", "") if request.method == "GET" else ""
    assign_values = [
        (
            values.get(f"kz_{i}", prefill if i == 0 else ""),
            values.get(f"betrag_{i}", left if i == 0 and (prefill or not values) else ""),
        )
        for i in range(ASSIGN_ROWS)
    ]
    assign_rows = _assign_fields(assign_values, errors if form == "assign" else {})
    comment_error = errors.get("comment", "")
    refund_fields = [
        forms.field(
            "iban",
            _("IBAN des Empfängers"),
            required=True,
            value=values.get("iban", line.counterparty_iban),
            error=errors.get("iban", "") if form == "refund" else "",
        ),
        forms.field(
            "name",
            _("Name des Empfängers"),
            required=True,
            value=values.get("name", line.counterparty_name),
            error=errors.get("name", "") if form == "refund" else "",
        ),
    ]
    error_list: list[dict[str, str]] = []
    if form == "assign":
        error_list = [
            {"id": f["id"], "message": f["error"]}
            for row in assign_rows
            for f in (row["kz"], row["amount"])
            if f["error"]
        ]
        if "total" in errors:
            error_list.append({"id": "zuordnen", "message": errors["total"]})
    elif form == "refund":
        error_list = forms.error_list(refund_fields)
    if comment_error:
        error_list.append({"id": f"kommentar-{form}", "message": comment_error})
    if "general" in errors:
        error_list.insert(0, {"id": "inhalt", "message": errors["general"]})
    allowed = clearing.steps(line, info.suspense_left_cents)
    return render(
        request,
        "backoffice/clearing_line.html",
        {
            "organisation": organisation,
            "nav": "clearing",
            "line": line,
            "info": info,
            "rule_label": Rule(line.rule).label if line.rule in Rule.values else line.rule,
            "candidates": [scheme.display(str(kz)) for kz in line.candidates],
            "suggestions": selectors.suggestions(organisation=organisation, line=line)
            if allowed.assign
            else [],
            "can_assign": allowed.assign,
            "can_hold": allowed.hold,
            "can_refund": allowed.refund,
            "can_review": allowed.review,
            "assign_rows": assign_rows,
            "refund_fields": refund_fields,
            "form": form,
            "comment_value": values.get("comment", ""),
            "comment_for": f"kommentar-{form}",
            "comment_error": comment_error,
            "error_list": error_list,
            "scheme": scheme,
        },
        status=status,
    )


@never_cache
@require_GET
@requires(*CASH_OFFICE)
def line(request: HttpRequest, organisation: Organisation, line_id: int) -> HttpResponse:
    return _render_line(request, organisation, _line_or_404(organisation, line_id))


def _shares(post: Any, errors: dict[str, str]) -> list[clearing.Share]:
    shares = []
    for index in range(ASSIGN_ROWS):
        kz = str(post.get(f"kz_{index}", ""))[:64]
        amount_text = str(post.get(f"betrag_{index}", ""))[:32]
        if not kz.strip() and not amount_text.strip():
            shares.append(clearing.Share("", 0))
            continue
        cents = _amount(amount_text, errors, f"{index}.amount")
        if cents is None and f"{index}.amount" not in errors:
            errors[f"{index}.amount"] = _("Bitte geben Sie einen Betrag ein.")
        if not kz.strip():
            errors[f"{index}.kassenzeichen"] = _("Bitte geben Sie das Kassenzeichen ein.")
        shares.append(clearing.Share(kz, cents or 0))
    return shares


_DONE = {
    "assign": gettext_lazy("Die Zeile ist zugeordnet und gebucht."),
    "undo": gettext_lazy("Die Zuordnung ist aufgehoben; das Geld liegt wieder im Verwahrgeld."),
    "hold": gettext_lazy("Das Geld bleibt im Verwahrgeld."),
    "refund": gettext_lazy("Die Zeile ist zur Rückzahlung vorgemerkt."),
    "review": gettext_lazy("Die Buchung ist als geprüft vermerkt."),
    "comment": gettext_lazy("Der Kommentar ist gespeichert."),
}


@require_POST
@requires(*CASH_OFFICE)
def act(
    request: HttpRequest, organisation: Organisation, line_id: int, action: str
) -> HttpResponse:
    row = _line_or_404(organisation, line_id)
    if action not in _DONE:
        raise Http404
    post = request.POST
    actor = audit.Actor.user(request.user)  # type: ignore[arg-type]
    comment = str(post.get("comment", ""))
    errors: dict[str, str] = {}
    values = {key: str(post.get(key, "")) for key in post if key != "csrfmiddlewaretoken"}
    try:
        if action == "assign":
            shares = _shares(post, errors)
            if errors:
                raise ValidationFailed(errors)
            clearing.assign(
                organisation=organisation,
                line_id=row.pk,
                shares=shares,
                actor=actor,
                comment=comment,
            )
        elif action == "undo":
            raw = str(post.get("zuordnung", ""))
            action_id = int(raw) if raw.isdigit() else None
            clearing.undo(
                organisation=organisation,
                line_id=row.pk,
                actor=actor,
                comment=comment,
                action_id=action_id,
            )
        elif action == "hold":
            clearing.hold(organisation=organisation, line_id=row.pk, actor=actor, comment=comment)
        elif action == "refund":
            clearing.mark_for_refund(
                organisation=organisation,
                line_id=row.pk,
                actor=actor,
                iban=str(post.get("iban", ""))[:64],
                name=str(post.get("name", ""))[:200],
                comment=comment,
            )
        elif action == "review":
            clearing.review(organisation=organisation, line_id=row.pk, actor=actor, comment=comment)
        else:
            clearing.add_comment(
                organisation=organisation, line_id=row.pk, actor=actor, comment=comment
            )
    except ValidationFailed as exc:
        return _render_line(
            request,
            organisation,
            _line_or_404(organisation, line_id),
            form=action,
            errors=exc.errors,
            values=values,
            status=422,
        )
    except DomainError as exc:
        return _render_line(
            request,
            organisation,
            _line_or_404(organisation, line_id),
            form=action,
            errors={"general": exc.message},
            values=values,
            status=409,
        )
    messages.success(request, _DONE[action])
    return redirect(reverse("backoffice:clearing-line", args=[row.pk]))
