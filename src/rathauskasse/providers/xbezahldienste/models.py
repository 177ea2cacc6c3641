"""The configuration of the XBezahldienste provider: one connection per organisation.

These are the provider's own tables; the adapter only reads them. Secrets that the client has to
send (passwords, the client secret, the PKCS#12 file) cannot be hashed: they are stored as they
are, and the admin never shows them again after saving (decision 0019).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from rathauskasse.catalogue.models import PaymentMethod
from rathauskasse.core import clock
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments.contract import BookingKey
from rathauskasse.providers.xbezahldienste import certificates
from rathauskasse.providers.xbezahldienste.client import AuthMode, ConnectionConfig

#: Our payment methods an XBezahldienste service can take (its page offers its own choice).
METHODS = (
    PaymentMethod.CARD,
    PaymentMethod.PAYPAL,
    PaymentMethod.GIROPAY,
    PaymentMethod.SEPA_DEBIT,
)

validate_id = RegexValidator(
    r"^[A-Za-z0-9_-]{1,36}$",
    "Erlaubt sind Buchstaben ohne Umlaute, Ziffern, Unterstrich und Bindestrich, "
    "höchstens 36 Zeichen.",
)

#: Which fields each authentication needs; those of the other modes are cleared on saving.
SECRET_FIELDS = (
    "client_certificate",
    "client_certificate_password",
    "client_secret",
    "basic_password",
)
_MODE_FIELDS = {
    AuthMode.MTLS: ("client_certificate", "client_certificate_path", "client_certificate_password"),
    AuthMode.OAUTH2: ("token_url", "client_id", "client_secret", "token_scope"),
    AuthMode.BASIC: ("basic_user", "basic_password"),
}


def _default_methods() -> list[str]:
    return [str(method) for method in METHODS]


class AuthChoice(models.TextChoices):
    MTLS = AuthMode.MTLS.value, "Client-Zertifikat (mTLS, z. B. ePayBL)"
    OAUTH2 = AuthMode.OAUTH2.value, "OAuth2 Client Credentials (z. B. pmPayment)"
    BASIC = AuthMode.BASIC.value, "HTTP Basic (z. B. epay21)"


class Connection(models.Model):
    """How one organisation reaches its XBezahldienste service (ePayBL, pmPayment, epay21, ...)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="Organisation"
    )
    name = models.CharField("Bezeichnung", max_length=100, help_text="z. B. „ePayBL Land“")
    enabled = models.BooleanField(
        "aktiv",
        default=True,
        help_text="Neue Zahlungen der Organisation laufen über ihre aktive Verbindung (höchstens "
        "eine). Begonnene Zahlungen werden auch nach dem Abschalten weiter abgefragt.",
    )
    base_url = models.URLField(
        "Basisadresse",
        max_length=500,
        help_text="Adresse der XBezahldienste-Schnittstelle ohne „/paymenttransaction“, "
        "z. B. https://bezahldienst.example/xbezahldienste/v1. Im Betrieb nur https.",
    )
    originator_id = models.CharField("Originator-ID", max_length=36, validators=[validate_id])
    endpoint_id = models.CharField("Endpoint-ID", max_length=36, validators=[validate_id])
    auth_mode = models.CharField(
        "Anmeldeverfahren", max_length=10, choices=AuthChoice.choices, default=AuthChoice.MTLS
    )

    # Mutual TLS (ePayBL): the PKCS#12 file uploaded, or a path on the server.
    client_certificate = models.BinaryField("Client-Zertifikat (PKCS#12)", blank=True, default=b"")
    client_certificate_path = models.CharField(
        "Pfad zum Client-Zertifikat",
        max_length=500,
        blank=True,
        help_text="Statt des Hochladens: eine PKCS#12-Datei auf dem Server, die nur das Konto "
        "der Rathauskasse lesen darf.",
    )
    client_certificate_password = models.CharField(
        "Passwort des Client-Zertifikats", max_length=200, blank=True
    )
    # OAuth2 client credentials (pmPayment).
    token_url = models.URLField("Token-Adresse", max_length=500, blank=True)
    client_id = models.CharField("Client-ID", max_length=200, blank=True)
    client_secret = models.CharField("Client-Secret", max_length=500, blank=True)
    token_scope = models.CharField("Scope", max_length=200, blank=True)
    # HTTP Basic (epay21).
    basic_user = models.CharField("Benutzername", max_length=200, blank=True)
    basic_password = models.CharField("Passwort", max_length=200, blank=True)

    ca_certificates = models.TextField(
        "Vertrauenswürdige Zertifizierungsstellen (PEM)",
        blank=True,
        help_text="Nur nötig, wenn der Bezahldienst ein Serverzertifikat einer eigenen PKI "
        "verwendet (z. B. der Verwaltungs-PKI). Leer: die öffentlichen Zertifizierungsstellen.",
    )
    methods = models.JSONField(
        "angebotene Zahlarten",
        default=_default_methods,
        blank=True,  # an empty list is refused by `clean`, with a message that says what to do
        help_text="Welche Zahlarten der Rathauskasse dieser Bezahldienst annimmt. Welche er "
        "auf seiner Seite anbietet, entscheidet er selbst.",
    )
    key_budget_line = models.CharField(
        "Schlüssel der Haushaltsstelle",
        max_length=50,
        blank=True,
        default=BookingKey.BUDGET_LINE.value,
        help_text="Unter diesem Namen steht die Haushaltsstelle in „bookingData“. Leer: nicht "
        "senden.",
    )
    key_product = models.CharField(
        "Schlüssel des Produkts", max_length=50, blank=True, default=BookingKey.PRODUCT.value
    )
    key_account = models.CharField(
        "Schlüssel des Sachkontos", max_length=50, blank=True, default=BookingKey.ACCOUNT.value
    )
    key_cost_centre = models.CharField(
        "Schlüssel der Kostenstelle",
        max_length=50,
        blank=True,
        default=BookingKey.COST_CENTRE.value,
    )
    connect_timeout = models.PositiveSmallIntegerField(
        "Zeit für den Verbindungsaufbau (Sekunden)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Leer: XBEZAHLDIENSTE_CONNECT_TIMEOUT.",
    )
    read_timeout = models.PositiveSmallIntegerField(
        "Zeit für die Antwort (Sekunden)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Leer: XBEZAHLDIENSTE_READ_TIMEOUT.",
    )
    created_at = models.DateTimeField("angelegt am", auto_now_add=True)
    updated_at = models.DateTimeField("geändert am", auto_now=True)

    class Meta:
        verbose_name = "XBezahldienste-Verbindung"
        verbose_name_plural = "XBezahldienste-Verbindungen"
        ordering = ("organisation", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(enabled=True),
                name="xbd_connection_one_enabled_per_organisation",
            ),
            models.CheckConstraint(
                condition=Q(auth_mode__in=AuthChoice.values), name="xbd_connection_auth_mode"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # --- validation -------------------------------------------------------------------------

    def clean(self) -> None:
        self._drop_other_modes()
        errors: dict[str, str] = {}
        for name in ("base_url", "token_url"):
            url = getattr(self, name)
            if url and not url.lower().startswith("https://") and not allow_http():
                errors[name] = "Die Adresse muss mit https:// beginnen."
        if self.base_url and ("?" in self.base_url or "#" in self.base_url):
            errors["base_url"] = "Die Basisadresse darf keine Parameter (? oder #) enthalten."
        mode = AuthMode(self.auth_mode) if self.auth_mode in AuthChoice.values else None
        if mode == AuthMode.MTLS:
            errors.update(self._check_certificate())
        elif mode == AuthMode.OAUTH2:
            for name, label in (
                ("token_url", "die Token-Adresse"),
                ("client_id", "die Client-ID"),
                ("client_secret", "das Client-Secret"),
            ):
                if not getattr(self, name):
                    errors[name] = f"Für OAuth2 fehlt {label}."
        elif mode == AuthMode.BASIC:
            if not self.basic_user:
                errors["basic_user"] = "Für HTTP Basic fehlt der Benutzername."
            if not self.basic_password:
                errors["basic_password"] = "Für HTTP Basic fehlt das Passwort."  # noqa: S105
        if self.ca_certificates.strip():
            try:
                certificates.check_ca_certificates(self.ca_certificates)
            except certificates.CertificateError as exc:
                errors["ca_certificates"] = str(exc)
        methods = self.methods if isinstance(self.methods, list) else None
        if not methods:
            errors["methods"] = "Wählen Sie mindestens eine Zahlart."
        elif set(methods) - set(METHODS):
            errors["methods"] = "Unbekannte Zahlart: " + ", ".join(
                sorted(set(methods) - set(METHODS))
            )
        keys = [k for k in self.booking_keys().values() if k]
        if len(set(keys)) != len(keys):
            errors["key_budget_line"] = (
                "Jeder Schlüssel der Buchungsdaten darf nur einmal vorkommen."
            )
        if self.enabled and self.organisation_id:
            others = Connection.objects.filter(organisation_id=self.organisation_id, enabled=True)
            if others.exclude(pk=self.pk).exists():
                errors["enabled"] = (
                    "Die Organisation hat schon eine aktive Verbindung; schalten Sie diese "
                    "zuerst ab."
                )
        if errors:
            raise ValidationError(errors)

    def _drop_other_modes(self) -> None:
        """Secrets of an authentication not in use do not stay behind."""
        keep = set(_MODE_FIELDS.get(AuthMode(self.auth_mode), ())) if self.auth_mode else set()
        for mode_fields in _MODE_FIELDS.values():
            for name in mode_fields:
                if name not in keep:
                    setattr(self, name, b"" if name == "client_certificate" else "")

    def _check_certificate(self) -> dict[str, str]:
        if not self.client_certificate and not self.client_certificate_path:
            return {
                "client_certificate_path": "Für mTLS laden Sie ein Client-Zertifikat hoch oder "
                "geben den Pfad zu einer PKCS#12-Datei an."
            }
        try:
            data = self.certificate_bytes()
        except OSError:
            return {"client_certificate_path": "Die Datei lässt sich nicht lesen."}
        try:
            info = certificates.describe(data, self.client_certificate_password)
        except certificates.CertificateError as exc:
            return {"client_certificate_password": str(exc)}
        if info.not_after <= clock.now():
            day = info.not_after.astimezone(clock.BERLIN).strftime("%d.%m.%Y")
            return {"client_certificate_path": f"Das Client-Zertifikat ist am {day} abgelaufen."}
        return {}

    # --- reading ----------------------------------------------------------------------------

    def certificate_bytes(self) -> bytes:
        if self.client_certificate:
            return bytes(self.client_certificate)
        if self.client_certificate_path:
            with open(self.client_certificate_path, "rb") as file:
                return file.read()
        return b""

    def certificate_info(self) -> certificates.CertificateInfo | None:
        if self.auth_mode != AuthMode.MTLS:
            return None
        try:
            return certificates.describe(self.certificate_bytes(), self.client_certificate_password)
        except (OSError, certificates.CertificateError):
            return None

    def booking_keys(self) -> dict[BookingKey, str]:
        """Our booking data key -> its name on the wire ("" leaves it out)."""
        return {
            BookingKey.BUDGET_LINE: self.key_budget_line,
            BookingKey.PRODUCT: self.key_product,
            BookingKey.ACCOUNT: self.key_account,
            BookingKey.COST_CENTRE: self.key_cost_centre,
        }

    def config(self) -> ConnectionConfig:
        """What the HTTP client needs, as a frozen value (the client never sees this model)."""
        mode = AuthMode(self.auth_mode)
        return ConnectionConfig(
            id=self.pk,
            base_url=self.base_url,
            originator_id=self.originator_id,
            endpoint_id=self.endpoint_id,
            auth=mode,
            connect_timeout=self.connect_timeout or settings.XBEZAHLDIENSTE_CONNECT_TIMEOUT,
            read_timeout=self.read_timeout or settings.XBEZAHLDIENSTE_READ_TIMEOUT,
            basic_user=self.basic_user,
            basic_password=self.basic_password,
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_scope=self.token_scope,
            certificate=self.certificate_bytes() if mode == AuthMode.MTLS else b"",
            certificate_password=self.client_certificate_password,
            ca_certificates=self.ca_certificates,
            allow_http=allow_http(),
        )


def allow_http() -> bool:
    """Plain http for the demo and tests (a local test server); https everywhere else."""
    return bool(settings.XBEZAHLDIENSTE_ALLOW_HTTP)
