"""/api/v1/receivables: create, read, list and cancel receivables."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from rathauskasse.api.models import ApiKey, Scope
from rathauskasse.api.v1 import base
from rathauskasse.api.v1.schemas import (
    CancelIn,
    Id,
    Kassenzeichen,
    Limit,
    NoticeIn,
    NoticeList,
    NoticeOut,
    ReceivableIn,
    ReceivableOut,
    ReceivablePage,
    ReceivableState,
)
from rathauskasse.core.errors import NotFound, ValidationFailed
from rathauskasse.organisations import selectors as organisations
from rathauskasse.receivables import notices, selectors, services
from rathauskasse.receivables.models import Notice, Receivable, ReceivableSource

router = Router(tags=["receivables"])


class ReceivableFilter(Schema):
    status: ReceivableState | None = None
    department: Id | None = None
    # NUL cannot be compared with a text column (PostgreSQL refuses it); no reference holds one.
    reference: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00]*$")
    limit: Limit = 50
    after: Id | None = Field(default=None, description="The `next_cursor` of the page before.")


def _scoped(api_key: ApiKey) -> Any:
    found = selectors.receivables(organisation=api_key.organisation).prefetch_related(
        "lines__budget_line"
    )
    limited = base.department_ids(api_key)
    return found.filter(department_id__in=limited) if limited else found


def _get(api_key: ApiKey, receivable_id: int) -> Receivable:
    receivable: Receivable | None = _scoped(api_key).filter(pk=receivable_id).first()
    if receivable is None:
        raise NotFound("Diese Forderung gibt es nicht.")
    return receivable


def serialize(receivable: Receivable, open_cents: int) -> dict[str, Any]:
    return {
        "id": receivable.pk,
        "kassenzeichen": receivable.kassenzeichen,
        "kassenzeichen_display": receivable.kassenzeichen_display,
        "status": receivable.status,
        "purpose": receivable.purpose,
        "amount_cents": receivable.amount_cents,
        "open_cents": open_cents,
        "due_date": receivable.due_date,
        "department": receivable.department_id,
        "reference": receivable.source_reference,
        "pay_url": settings.SITE_URL + reverse("portal:pay-link", args=[receivable.pay_token]),
        "created_at": receivable.created_at,
        "paid_at": receivable.paid_at,
        "lines": [
            {
                "position": line.position,
                "text": line.text,
                "amount_cents": line.amount_cents,
                "budget_line": line.budget_line.code,
                "booking_data": line.booking_data,
            }
            for line in receivable.lines.all()
        ],
    }


def _out(receivable: Receivable) -> dict[str, Any]:
    return serialize(receivable, selectors.open_amount(receivable=receivable))


@router.post(
    "",
    response={201: ReceivableOut, **base.problems(*base.WRITE)},
    summary="Create a receivable",
)
def create(request: HttpRequest, payload: ReceivableIn) -> HttpResponse:
    api_key = base.require(request, Scope.RECEIVABLES_WRITE)

    def run() -> tuple[int, Any]:
        organisation = api_key.organisation
        limited = base.department_ids(api_key)
        if limited and payload.department not in limited:
            raise base.Forbidden("Dieser Schlüssel gilt nicht für dieses Amt.", field="department")
        try:
            department = organisations.get_department(
                organisation=organisation, department_id=payload.department
            )
        except NotFound as exc:
            raise ValidationFailed({"department": exc.message}) from None
        lines = []
        for index, line in enumerate(payload.lines):
            try:
                budget_line = organisations.get_budget_line(
                    organisation=organisation, code=line.budget_line
                )
            except NotFound as exc:
                raise ValidationFailed({f"lines.{index}.budget_line": exc.message}) from None
            lines.append(
                services.LineInput(
                    text=line.text,
                    amount_cents=line.amount_cents,
                    budget_line=budget_line,
                    booking_data=line.booking_data,
                )
            )
        debtor = payload.debtor
        receivable = services.create_receivable(
            actor=base.actor_of(api_key),
            organisation=organisation,
            department=department,
            lines=lines,
            purpose=payload.purpose,
            debtor=services.Debtor(**debtor.model_dump()),
            source=ReceivableSource.API,
            due_date=payload.due_date,
            kassenzeichen=payload.kassenzeichen,
            source_reference=payload.reference,
        )
        return 201, _out(_get(api_key, receivable.pk))

    return base.idempotent(request, run)


@router.get(
    "",
    response={200: ReceivablePage, **base.problems(*base.READ)},
    summary="List receivables, newest first",
)
def list_receivables(request: HttpRequest, filters: Query[ReceivableFilter]) -> dict[str, Any]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    found = _scoped(api_key).order_by("-id")
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.department:
        found = found.filter(department_id=filters.department)
    if filters.reference:
        found = found.filter(source_reference=filters.reference)
    if filters.after:
        found = found.filter(pk__lt=filters.after)
    limit = filters.limit
    page = list(found[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    open_cents = selectors.open_amounts(
        organisation=api_key.organisation, receivable_ids=[r.pk for r in page]
    )
    return {
        "data": [serialize(r, open_cents[r.pk]) for r in page],
        "next_cursor": str(page[-1].pk) if more and page else None,
    }


@router.get(
    "/{receivable_id}",
    response={200: ReceivableOut, **base.problems(404, *base.READ)},
    summary="Get a receivable",
)
def get(request: HttpRequest, receivable_id: Id) -> dict[str, Any]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    return _out(_get(api_key, receivable_id))


@router.get(
    "/by-kassenzeichen/{kassenzeichen}",
    response={200: ReceivableOut, **base.problems(404, *base.READ)},
    summary="Find a receivable by its Kassenzeichen (any spelling)",
)
def by_kassenzeichen(request: HttpRequest, kassenzeichen: Kassenzeichen) -> dict[str, Any]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    found = selectors.find_by_kassenzeichen(organisation=api_key.organisation, text=kassenzeichen)
    return _out(_get(api_key, found.pk))


@router.post(
    "/{receivable_id}/cancel",
    response={200: ReceivableOut, **base.problems(404, *base.WRITE)},
    summary="Cancel an unpaid receivable (by reversal)",
)
def cancel(request: HttpRequest, receivable_id: Id, payload: CancelIn) -> HttpResponse:
    api_key = base.require(request, Scope.RECEIVABLES_WRITE)

    def run() -> tuple[int, Any]:
        receivable = _get(api_key, receivable_id)
        services.cancel_receivable(
            actor=base.actor_of(api_key), receivable=receivable, reason=payload.reason
        )
        return 200, _out(_get(api_key, receivable_id))

    return base.idempotent(request, run)


def notice_out(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "receivable": notice.receivable_id,
        "kind": notice.kind,
        "sequence": notice.sequence,
        "amount_cents": notice.amount_cents,
        "fee_cents": notice.fee_cents,
        "due_date": notice.due_date,
        "issued_at": notice.issued_at,
        "channel": notice.channel,
        "delivered_at": notice.delivered_at,
        "checksum": notice.checksum,
        "pdf_url": settings.SITE_URL
        + reverse("api-v1:notice_pdf", args=[notice.receivable_id, notice.pk]),
    }


@router.post(
    "/{receivable_id}/notice",
    response={201: NoticeOut, **base.problems(404, *base.WRITE)},
    summary="Issue a notice (payment request letter) for an open receivable",
    description=(
        "The notice shows the open amount at this moment, a QR code with the pay link and a "
        "GiroCode. It goes by e-mail (PDF attached) when the debtor has an address, else it is "
        "marked for print. A paid or cancelled receivable gets none (409 `notice_refused`)."
    ),
)
def issue_notice(request: HttpRequest, receivable_id: Id, payload: NoticeIn) -> HttpResponse:
    api_key = base.require(request, Scope.RECEIVABLES_WRITE)

    def run() -> tuple[int, Any]:
        receivable = _get(api_key, receivable_id)
        notice = notices.issue_notice(
            actor=base.actor_of(api_key), receivable=receivable, channel=payload.channel
        )
        return 201, notice_out(notice)

    return base.idempotent(request, run)


@router.get(
    "/{receivable_id}/notices",
    response={200: NoticeList, **base.problems(404, *base.READ)},
    summary="List the notices of a receivable, the first first",
)
def list_notices(request: HttpRequest, receivable_id: Id) -> dict[str, Any]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    receivable = _get(api_key, receivable_id)
    return {"data": [notice_out(n) for n in selectors.notices_of(receivable=receivable)]}


@router.get(
    "/{receivable_id}/notices/{notice_id}.pdf",
    response=base.problems(404, *base.READ),
    summary="Download a notice's letter (PDF)",
    url_name="notice_pdf",
    openapi_extra={
        "responses": {
            200: {
                "description": "The letter, the same file on every download (see `checksum`).",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def notice_pdf(request: HttpRequest, receivable_id: Id, notice_id: Id) -> HttpResponse:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    receivable = _get(api_key, receivable_id)
    notice = selectors.notices_of(receivable=receivable).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound("Diesen Bescheid gibt es nicht.")
    response = HttpResponse(notices.notice_pdf(notice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{notice.filename}"'
    return response
