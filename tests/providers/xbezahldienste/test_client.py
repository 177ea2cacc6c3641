"""The XBezahldienste client against recorded answers: every path of POST and GET, and auth."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core import clock
from rathauskasse.core.money import Money
from rathauskasse.payments.contract import (
    BookingKey,
    ProviderRefused,
    ProviderUnavailable,
    StartItem,
    StartRequest,
)
from rathauskasse.providers.xbezahldienste import adapter, client
from tests.providers.xbezahldienste.conftest import (
    COLLECTION,
    REQUEST_ID,
    TRANSACTION_ID,
    body_of,
    config,
    expected_request,
    json_of,
    recorded,
)

KEYS = {key: str(key) for key in BookingKey}
BOOKING = {
    "Haushaltsstelle": "1.2.3",
    "Produkt": "12.2.01",
    "Sachkonto": "432100",
    "Kostenstelle": "1200",
}


def start_request(**overrides: Any) -> StartRequest:
    fields: dict[str, Any] = {
        "payment_reference": REQUEST_ID,
        "amount_cents": 3070,
        "description": "2612345674 Anwohnerparkausweis",
        "method": "card",
        "return_url": f"http://testserver/zahlung/{REQUEST_ID}/",
        "notify_url": "http://testserver/providers/xbezahldienste/notify/",
        "expires_at": dt.datetime(2026, 11, 3, 11, 15, tzinfo=dt.UTC),
        "organisation_id": 1,
        "items": (StartItem("2612345674", "Position 1", 3070, BOOKING),),
    }
    fields.update(overrides)
    return StartRequest(**fields)


class Script:
    """Answers in order; records every request."""

    def __init__(self, *answers: httpx.Response | type[Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer("scripted", request=request)  # type: ignore[call-arg]
        # A fresh copy: the same recorded answer may be given several times.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def make(
    script: Script, *, attempts: int = 2, sleeps: list[float] | None = None, **cfg: Any
) -> client.Client:
    return client.Client(
        config(**cfg),
        transport=httpx.MockTransport(script),
        attempts=attempts,
        sleep=(sleeps if sleeps is not None else []).append,
    )


# --- the request ----------------------------------------------------------------------------


def test_the_payment_request_has_the_standards_shape_and_exact_amounts() -> None:
    with clock.frozen(dt.datetime(2026, 11, 3, 9, 15, tzinfo=dt.UTC)):
        body = adapter.payment_request(start_request(), booking_keys=KEYS)
    content = client.dumps(body)
    assert client.loads(content) == expected_request()
    assert b'"grosAmount":30.70' in content
    assert b'"totalTaxAmount":0.00' in content
    assert all(not isinstance(v, float) for v in body.values())


def test_booking_data_goes_out_under_the_connections_key_names() -> None:
    item = StartItem("1", "Gebühr", 100, {**BOOKING, "Kostenträger": "KT-7", "HHST": "frei"})
    body = adapter.payment_request(
        start_request(amount_cents=100, items=(item,)),
        booking_keys={**KEYS, BookingKey.BUDGET_LINE: "HHST", BookingKey.PRODUCT: ""},
    )
    assert body["items"][0]["bookingData"] == {
        "HHST": "1.2.3",  # the column, not the free value of the same name
        "Sachkonto": "432100",
        "Kostenstelle": "1200",
        "Kostenträger": "KT-7",
    }


def test_more_than_99_items_are_added_up_by_booking_data() -> None:
    items = tuple(
        StartItem(f"KZ{n}", f"Position {n}", 100 + n, {"Haushaltsstelle": f"1.{n % 3}"})
        for n in range(150)
    )
    total = sum(i.amount_cents for i in items)
    body = adapter.payment_request(
        start_request(amount_cents=total, items=items), booking_keys=KEYS
    )
    assert len(body["items"]) == 3
    assert sum(Money.from_decimal(i["totalNetAmount"]).cents for i in body["items"]) == total
    assert body["items"][0]["reference"] == "mehrere"

    distinct = tuple(StartItem("KZ", "x", 1, {"Haushaltsstelle": str(n)}) for n in range(100))
    with pytest.raises(ProviderRefused) as refused:
        adapter.payment_request(start_request(amount_cents=100, items=distinct), booking_keys=KEYS)
    assert refused.value.code == "TOO_MANY_ITEMS"


@given(cents=st.integers(min_value=1, max_value=10**13))
def test_cents_go_out_and_come_back_exactly(cents: int) -> None:
    content = client.dumps({"grosAmount": Money(cents).to_decimal()})
    assert b"e" not in content.lower() and b"." in content
    assert Money.from_decimal(client.loads(content)["grosAmount"]).cents == cents


def test_floats_never_go_out() -> None:
    with pytest.raises(TypeError):
        client.dumps({"grosAmount": 30.7})


# --- POST -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201])
def test_a_created_transaction_is_read_from_200_or_201(status: int) -> None:
    script = Script(recorded("transaction_initial", status=status))
    transaction = make(script).create(expected_request())
    assert transaction == client.Transaction(
        transaction_id=TRANSACTION_ID,
        status=client.Status.INITIAL,
        gros_amount=Decimal("30.70"),
        request_id=REQUEST_ID,
        redirect_url=f"https://bezahldienst.example/bezahlen/{TRANSACTION_ID}",
        reference="2026-000123",
    )
    (request,) = script.requests
    assert request.method == "POST"
    assert str(request.url) == COLLECTION
    assert request.headers["Content-Type"] == "application/json"
    assert "application/json" in request.headers["Accept"]
    assert json_of(request) == expected_request()


@pytest.mark.parametrize(
    "name",
    [
        "problem_calculation_error",
        "problem_booking_data_missing",
        "problem_validation_error",
        "problem_no_valid_originator_or_endpoint",
        "problem_forbidden",
        "problem_unspecified",
    ],
)
def test_a_functional_error_is_a_refusal_with_its_code_and_detail(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(recorded(name))
    with pytest.raises(ProviderRefused) as refused:
        make(script).create(expected_request())
    problem = body_of(name)
    assert refused.value.code == problem["functionalCode"]
    assert refused.value.detail == problem["detail"]
    assert len(script.requests) == 1  # never repeated: the answer will not change
    assert problem["functionalCode"] in caplog.text


def test_payment_exists_is_resolved_by_the_transaction_id_the_problem_names() -> None:
    script = Script(recorded("problem_payment_exists"), recorded("transaction_initial", status=200))
    transaction = make(script).create(expected_request())
    assert transaction.transaction_id == TRANSACTION_ID
    assert str(script.requests[1].url) == f"{COLLECTION}/{TRANSACTION_ID}"
    assert script.requests[1].method == "GET"


def test_payment_exists_without_a_transaction_id_is_resolved_by_the_request_id() -> None:
    script = Script(
        recorded("problem_payment_exists_plain"), recorded("transaction_initial", status=200)
    )
    assert make(script).create(expected_request()).transaction_id == TRANSACTION_ID
    assert str(script.requests[1].url) == f"{COLLECTION}/{REQUEST_ID}"


def test_payment_exists_falls_back_to_the_request_id_and_then_gives_up_for_now() -> None:
    script = Script(
        recorded("problem_payment_exists"),
        recorded("problem_transaction_unknown"),
        recorded("transaction_initial", status=200),
    )
    assert make(script).create(expected_request()).transaction_id == TRANSACTION_ID
    assert [str(r.url) for r in script.requests[1:]] == [
        f"{COLLECTION}/{TRANSACTION_ID}",
        f"{COLLECTION}/{REQUEST_ID}",
    ]
    script = Script(
        recorded("problem_payment_exists_plain"), recorded("problem_transaction_unknown")
    )
    with pytest.raises(ProviderUnavailable, match="PAYMENT_EXISTS"):
        make(script).create(expected_request())


@pytest.mark.parametrize(
    "fault",
    [
        recorded("problem_unspecified_500"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(503),
        httpx.ReadTimeout,
        httpx.ConnectTimeout,
        httpx.ConnectError,
        httpx.RemoteProtocolError,
    ],
)
def test_a_lost_answer_is_repeated_with_the_same_request_then_given_up(fault: Any) -> None:
    sleeps: list[float] = []
    script = Script(fault, fault, fault)
    with pytest.raises(ProviderUnavailable, match="no answer after 3 attempts"):
        make(script, attempts=3, sleeps=sleeps).create(expected_request())
    assert len(script.requests) == 3
    assert len({r.content for r in script.requests}) == 1  # the same request, the same requestId
    assert sleeps == [0.5, 1.0]


def test_a_timeout_then_payment_exists_finds_the_transaction_the_lost_answer_named() -> None:
    script = Script(
        httpx.ReadTimeout,
        recorded("problem_payment_exists"),
        recorded("transaction_initial", status=200),
    )
    transaction = make(script).create(expected_request())
    assert transaction.status == client.Status.INITIAL
    assert [r.method for r in script.requests] == ["POST", "POST", "GET"]
    assert script.requests[0].content == script.requests[1].content


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(429, headers={"Retry-After": "30"}),
        httpx.Response(302, headers={"Location": "https://anderswo.example/"}),
        httpx.Response(200, text="<html>Wartungsarbeiten</html>"),
        httpx.Response(201, content=b'{"paymentInformation": {"status": "INITIAL"}}'),
        recorded(
            "transaction_initial",
            body={
                **body_of("transaction_initial"),
                "paymentInformation": {
                    **body_of("transaction_initial")["paymentInformation"],
                    "status": "PENDING",
                },
            },
        ),
        recorded(
            "transaction_initial",
            body={
                **body_of("transaction_initial"),
                "paymentRequest": {
                    **body_of("transaction_initial")["paymentRequest"],
                    "grosAmount": "30.70",
                },
            },
        ),
        httpx.Response(201, content=b'{"paymentRequest": {"grosAmount": NaN}}'),
    ],
    ids=["429", "redirect", "html", "incomplete", "unknown status", "amount as text", "NaN"],
)
def test_an_answer_that_says_nothing_usable_is_unavailability(answer: httpx.Response) -> None:
    script = Script(answer)
    with pytest.raises(ProviderUnavailable):
        make(script).create(expected_request())
    assert len(script.requests) == 1  # not followed, not repeated


def test_credentials_never_go_over_plain_http() -> None:
    script = Script(recorded("transaction_initial"))
    with pytest.raises(ProviderRefused) as refused:
        make(script, base_url="http://bezahldienst.example/v1").create(expected_request())
    assert refused.value.code == "INSECURE_URL"
    assert script.requests == []
    local = make(
        Script(recorded("transaction_initial")),
        base_url="http://127.0.0.1:8080/v1",
        allow_http=True,
    )
    assert local.create(expected_request()).transaction_id == TRANSACTION_ID


# --- GET ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("transaction_initial", client.Status.INITIAL),
        ("transaction_payed", client.Status.PAYED),
        ("transaction_failed", client.Status.FAILED),
        ("transaction_canceled", client.Status.CANCELED),
    ],
)
def test_get_reads_each_status(name: str, status: client.Status) -> None:
    script = Script(recorded(name, status=200))
    transaction = make(script).get(TRANSACTION_ID)
    assert transaction is not None
    assert transaction.status == status
    assert transaction.status_detail == body_of(name)["paymentInformation"].get("statusDetail", "")
    assert str(script.requests[0].url) == f"{COLLECTION}/{TRANSACTION_ID}"


def test_get_quotes_the_transaction_id_into_the_path() -> None:
    script = Script(recorded("transaction_payed"))
    make(script).get("a/b c")
    assert script.requests[0].url.raw_path.endswith(b"/GEBUEHREN/a%2Fb%20c")


def test_an_unknown_transaction_is_none_only_when_the_service_says_so() -> None:
    assert make(Script(recorded("problem_transaction_unknown"))).get("x") is None
    with pytest.raises(ProviderUnavailable):  # a proxy's 404 page is no answer of the service
        make(Script(httpx.Response(404, text="<html>Not Found</html>"))).get("x")
    with pytest.raises(ProviderRefused) as refused:  # our configuration, not the transaction
        make(Script(recorded("problem_no_valid_originator_or_endpoint"))).get("x")
    assert refused.value.code == "NO_VALID_ORIGINATOR_OR_ENDPOINT"


@pytest.mark.parametrize(
    "fault", [recorded("problem_unspecified_500"), httpx.ReadTimeout, httpx.Response(429)]
)
def test_get_is_not_repeated_on_a_fault(fault: Any) -> None:
    script = Script(fault)
    with pytest.raises(ProviderUnavailable):
        make(script).get(TRANSACTION_ID)
    assert len(script.requests) == 1  # polls come again on their own schedule


def test_get_refused_is_a_refusal() -> None:
    with pytest.raises(ProviderRefused) as refused:
        make(Script(recorded("problem_forbidden"))).get(TRANSACTION_ID)
    assert refused.value.code == "FORBIDDEN"


# --- authentication -------------------------------------------------------------------------


def test_basic_authentication_sends_the_users_credentials() -> None:
    script = Script(recorded("transaction_payed"))
    make(script).get(TRANSACTION_ID)
    expected = base64.b64encode(b"musterstadt:geheim-basic-0815").decode()
    assert script.requests[0].headers["Authorization"] == f"Basic {expected}"


OAUTH = {
    "auth": client.AuthMode.OAUTH2,
    "token_url": "https://login.bezahldienst.example/oauth/token",
    "client_id": "rathauskasse-musterstadt",
    "client_secret": "s3cr3t-client-secret",
    "basic_user": "",
    "basic_password": "",
}
TOKEN = body_of("token")["access_token"]


def test_oauth2_fetches_a_token_once_and_sends_it_as_bearer(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    timeouts: list[int] = []
    real_set = cache.set

    def spy(key: str, value: Any, timeout: int | None = None, **kwargs: Any) -> None:
        timeouts.append(timeout or 0)
        real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    script = Script(recorded("token"), recorded("transaction_payed"), recorded("transaction_payed"))
    api = make(script, **OAUTH)
    api.get(TRANSACTION_ID)
    make(script, **OAUTH).get(TRANSACTION_ID)  # another client of the same connection

    token_request, first, second = script.requests
    assert str(token_request.url) == OAUTH["token_url"]
    assert token_request.method == "POST"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(token_request.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": "rathauskasse-musterstadt",
        "client_secret": "s3cr3t-client-secret",
    }
    assert first.headers["Authorization"] == second.headers["Authorization"] == f"Bearer {TOKEN}"
    assert timeouts == [240]  # expires_in 300, kept until a minute before


@pytest.mark.parametrize(("expires_in", "kept"), [(3600, 3540), (120, 96), (1, 1), (None, 300)])
def test_a_token_is_kept_until_shortly_before_it_expires(
    db: None, expires_in: int | None, kept: int
) -> None:
    body = {"access_token": "t", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in  # type: ignore[assignment]
    api = make(Script(httpx.Response(200, json=body)), **OAUTH)
    assert api._fetch_token() == ("t", kept)


def test_a_rejected_token_is_renewed_once(db: None) -> None:
    from django.core.cache import cache

    script = Script(
        recorded("token"),
        httpx.Response(401),
        httpx.Response(200, json={**body_of("token"), "access_token": "neu"}),
        recorded("transaction_payed"),
    )
    api = make(script, **OAUTH)
    assert api.get(TRANSACTION_ID) is not None
    assert [str(r.url).rsplit("/", 1)[-1] for r in script.requests] == [
        "token",
        TRANSACTION_ID,
        "token",
        TRANSACTION_ID,
    ]
    assert script.requests[3].headers["Authorization"] == "Bearer neu"

    cache.clear()  # (the renewed token is kept for the connection)
    script = Script(
        recorded("token"), httpx.Response(401), recorded("token"), recorded("problem_forbidden")
    )
    with pytest.raises(ProviderRefused) as refused:
        make(script, **OAUTH).create(expected_request())
    assert refused.value.code == "FORBIDDEN"
    assert len(script.requests) == 4  # renewed once, not again


def test_a_token_endpoint_that_refuses_or_fails(db: None) -> None:
    with pytest.raises(ProviderRefused) as refused:
        make(Script(recorded("token_invalid_client")), **OAUTH).get(TRANSACTION_ID)
    assert refused.value.code == "AUTHENTICATION_FAILED"
    assert "invalid_client" in refused.value.detail
    with pytest.raises(ProviderUnavailable):
        make(Script(httpx.Response(503)), **OAUTH).get(TRANSACTION_ID)
    with pytest.raises(ProviderUnavailable):
        make(Script(httpx.ConnectTimeout), **OAUTH).get(TRANSACTION_ID)
    with pytest.raises(ProviderUnavailable):
        make(Script(httpx.Response(200, json={"token_type": "Bearer"})), **OAUTH).get("x")


def test_no_secret_ever_reaches_the_log(db: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(
        recorded("token"),
        httpx.Response(401),
        recorded("token"),
        recorded("problem_forbidden"),
    )
    with pytest.raises(ProviderRefused):
        make(script, **OAUTH).create(expected_request())
    with pytest.raises(ProviderUnavailable):
        make(Script(httpx.ReadTimeout, httpx.ReadTimeout)).create(expected_request())
    for secret in ("s3cr3t-client-secret", TOKEN, "geheim-basic-0815", "Authorization"):
        assert secret not in caplog.text
    assert "secret" not in repr(config(**OAUTH)).replace("client_secret", "")
