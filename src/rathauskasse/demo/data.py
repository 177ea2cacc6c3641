"""The demo city "Musterstadt": its offices, budget lines, services, notices and staff.

Plain data, so that the content can be read (and changed) without reading the loader.
Amounts are integer cents.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple


class Person(NamedTuple):
    """A debtor as the notice's address field shows it."""

    name: str
    street: str
    postcode: str = "52349"
    city: str = "Musterstadt"


class Notice(NamedTuple):
    """An open notice (Bescheid) with its debtor and due date.

    `purpose` may name {year}, {next_year}, {month} or {next_month} (e.g. "November 2026"),
    so that the demo reads as current whenever it is loaded.
    """

    purpose: str
    department: str
    budget_line: str
    cents: int
    debtor: Person
    due_in_days: int


class PaidNotice(NamedTuple):
    """A notice the demo pays at once through the sandbox.

    `paid_cents` above `cents` is an overpayment, which the cash office pays back
    (`refund_cents`): the one kind of partial refund that leaves the notice settled.
    """

    purpose: str
    department: str
    budget_line: str
    cents: int
    debtor: Person
    method: str
    paid_cents: int | None = None
    refund_cents: int = 0
    refund_reason: str = ""


class StaffUser(NamedTuple):
    username: str
    first_name: str
    last_name: str
    password: str
    role: str
    department: str | None = None
    #: Django's admin site; clerks and department heads work in the back office only.
    is_staff: bool = False
    is_superuser: bool = False


ORGANISATION: dict[str, Any] = {
    "slug": "musterstadt",
    "name": "Stadt Musterstadt",
    "ags": "05358008",
    "creditor_name": "Stadtkasse Musterstadt",
    "iban": "DE02120300000000202051",
    "bic": "BYLADEM1001",
    "street": "Rathausplatz 1",
    "postcode": "52349",
    "city": "Musterstadt",
    "email": "stadtkasse@musterstadt.example",
    "phone": "02421 25-0",
    "website": "https://www.musterstadt.example",
    "kz_prefix": "",
    "kz_year_digits": 2,
    "kz_number_digits": 6,
    "kz_check_algorithm": "weighted2n",
    "imprint": (
        "Stadt Musterstadt\nRathausplatz 1\n52349 Musterstadt\n\n"
        "Die Stadt Musterstadt ist eine Körperschaft des öffentlichen Rechts. Sie wird vertreten "
        "durch die Bürgermeisterin.\n\n"
        "Telefon: 02421 25-0\nE-Mail: stadtkasse@musterstadt.example\n\n"
        "Dies ist eine Demonstration von Rathauskasse. Die Stadt Musterstadt gibt es nicht."
    ),
    "privacy_policy": (
        "Verantwortlich für die Verarbeitung Ihrer Daten ist die Stadt Musterstadt.\n\n"
        "Wir verarbeiten Ihre Angaben nur, um Ihren Antrag zu bearbeiten und Ihre Zahlung zu "
        "buchen (Art. 6 Abs. 1 Buchst. c und e DSGVO). Zahlungsdaten wie Kartennummern erhält "
        "nur der Zahlungsdienst, nie die Stadt.\n\n"
        "Diese Seite setzt nur ein technisch notwendiges Sitzungs-Cookie und lädt nichts von "
        "fremden Servern.\n\n"
        "Sie haben das Recht auf Auskunft, Berichtigung, Löschung und Beschwerde bei der "
        "Landesbeauftragten für Datenschutz."
    ),
    "accessibility_statement": (
        "Die Stadt Musterstadt möchte ihre Online-Dienste barrierefrei anbieten. Grundlage sind "
        "die BITV 2.0 und die WCAG 2.1 in der Stufe AA.\n\n"
        "Alle Seiten dieses Portals werden bei jeder Änderung automatisch mit axe-core geprüft "
        "und lassen sich vollständig mit der Tastatur bedienen.\n\n"
        "Sind Ihnen Barrieren aufgefallen? Schreiben Sie uns: "
        "barrierefreiheit@musterstadt.example."
    ),
}

DEPARTMENTS: list[dict[str, str]] = [
    {"code": "33", "name": "Bürgeramt", "email": "buergeramt@musterstadt.example"},
    {"code": "32", "name": "Ordnungsamt", "email": "ordnungsamt@musterstadt.example"},
    {"code": "63", "name": "Bauamt", "email": "bauamt@musterstadt.example"},
    {"code": "51", "name": "Jugendamt", "email": "jugendamt@musterstadt.example"},
    {"code": "20", "name": "Stadtkasse", "email": "stadtkasse@musterstadt.example"},
]

# code -> (name, product, account, cost centre)
BUDGET_LINES: dict[str, tuple[str, str, str, str]] = {
    "122010.431100": ("Verwaltungsgebühren Bürgeramt", "12.2.01", "431100", "3300"),
    "122020.431200": ("Gebühren Bewohnerparken", "12.2.02", "431200", "3200"),
    "122030.456100": ("Verwarn- und Bußgelder", "12.2.03", "456100", "3200"),
    "122040.431300": ("Sondernutzungsgebühren", "12.2.04", "431300", "3200"),
    "122050.431500": ("Gebühren Gewerbeangelegenheiten", "12.2.05", "431500", "3200"),
    "521010.431400": ("Gebühren Bauaufsicht", "52.1.01", "431400", "6300"),
    "365010.432100": ("Elternbeiträge Kindertagesstätten", "36.5.01", "432100", "5100"),
    "211010.432300": ("Elternbeiträge Offene Ganztagsschule", "21.1.01", "432300", "5100"),
    "362010.442100": ("Teilnahmebeiträge Ferienfreizeiten", "36.2.01", "442100", "5100"),
    "611010.401300": ("Hundesteuer", "61.1.01", "401300", "2000"),
    "553010.432200": ("Friedhofsgebühren", "55.3.01", "432200", "6700"),
    "611020.456300": ("Mahngebühren und Säumniszuschläge", "61.1.02", "456300", "2000"),
}

# The portal asks every applicant's name and e-mail itself; forms hold what the service needs.
_ADDRESS = {"name": "address", "label": "Anschrift", "type": "textarea", "required": True}
_ONLINE = ["card", "paypal", "sepa_debit", "wero", "giropay"]

SERVICES: list[dict[str, Any]] = [
    {
        "slug": "anwohnerparkausweis",
        "department": "Ordnungsamt",
        "name": "Anwohnerparkausweis",
        "leika_key": "99095007012000",
        "description": (
            "Mit dem Bewohnerparkausweis parken Sie in Ihrer Bewohnerparkzone ohne Parkschein. "
            "Der Ausweis gilt ein Jahr für ein Fahrzeug."
        ),
        "requirements": (
            "Hauptwohnsitz in der Zone, Fahrzeugschein (Zulassungsbescheinigung Teil I)."
        ),
        "processing_time": "etwa 5 Werktage, der Ausweis kommt mit der Post",
        "keywords": "Parken, Bewohnerparken, Parkausweis, Auto",
        "form_definition": [
            _ADDRESS,
            {
                "name": "plate",
                "label": "Kennzeichen",
                "type": "text",
                "required": True,
                "max_length": 12,
                "help_text": "z. B. MS-AB 123",
            },
            {
                "name": "zone",
                "label": "Bewohnerparkzone",
                "type": "select",
                "required": True,
                "options": [
                    {"value": "A", "label": "Zone A – Altstadt"},
                    {"value": "B", "label": "Zone B – Bahnhofsviertel"},
                ],
            },
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 3070,
        "budget_line": "122020.431200",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "beglaubigung",
        "department": "Bürgeramt",
        "name": "Beglaubigung von Kopien",
        "leika_key": "99010004000000",
        "description": (
            "Wir bestätigen amtlich, dass eine Kopie mit dem Original übereinstimmt. "
            "Sie senden uns die Kopien und zeigen bei Abholung das Original vor."
        ),
        "requirements": "Original und Kopie, Personalausweis oder Reisepass.",
        "processing_time": "sofort bei Abholung",
        "keywords": "beglaubigen, Abschrift, Kopie, Zeugnis",
        "form_definition": [
            {"name": "document", "label": "Welches Dokument?", "type": "text", "required": True},
            {
                "name": "pages",
                "label": "Anzahl der Seiten",
                "type": "integer",
                "required": True,
                "min_value": 1,
                "max_value": 100,
            },
        ],
        "fee_kind": "per_unit",
        "fee_amount_cents": 500,
        "fee_unit_label": "Seite",
        "fee_quantity_field": "pages",
        "budget_line": "122010.431100",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "bauakteneinsicht",
        "department": "Bauamt",
        "name": "Bauakteneinsicht",
        "description": (
            "Eigentümerinnen und Eigentümer sowie Bevollmächtigte sehen die Bauakte eines "
            "Grundstücks im Bauamt ein, zum Beispiel vor einem Kauf oder Umbau."
        ),
        "requirements": "Nachweis des Eigentums oder Vollmacht der Eigentümer.",
        "processing_time": "Termin innerhalb von 2 Wochen",
        "keywords": "Bauakte, Grundstück, Akteneinsicht, Bauplan",
        "form_definition": [
            {
                "name": "parcel",
                "label": "Straße und Hausnummer des Grundstücks",
                "type": "text",
                "required": True,
            },
            {"name": "reason", "label": "Grund der Einsicht", "type": "textarea"},
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 2500,
        "budget_line": "521010.431400",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "sondernutzungserlaubnis",
        "department": "Ordnungsamt",
        "name": "Sondernutzungserlaubnis",
        "description": (
            "Für alles, was auf Gehweg oder Straße mehr ist als Gehen und Fahren: Container, "
            "Gerüst, Umzugswagen, Außengastronomie oder Werbetafel."
        ),
        "requirements": "Lageplan, Zeitraum, bei Gerüsten die Firma.",
        "processing_time": "etwa 10 Werktage",
        "keywords": "Container, Gerüst, Umzug, Halteverbot, Gehweg",
        "form_definition": [
            {
                "name": "kind",
                "label": "Art der Nutzung",
                "type": "select",
                "required": True,
                "options": [
                    {"value": "umzug", "label": "Halteverbot für einen Umzug (1 Tag)"},
                    {"value": "container", "label": "Container bis 1 Woche"},
                    {"value": "geruest", "label": "Gerüst bis 4 Wochen"},
                    {"value": "gastro", "label": "Außengastronomie (Saison)"},
                ],
            },
            {
                "name": "location",
                "label": "Ort (Straße, Hausnummer)",
                "type": "text",
                "required": True,
            },
            {"name": "start", "label": "Ab wann?", "type": "date", "required": True},
        ],
        "fee_kind": "by_option",
        "fee_option_field": "kind",
        "fee_option_amounts": {"umzug": 3500, "container": 4500, "geruest": 12000, "gastro": 25000},
        "budget_line": "122040.431300",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "hundeanmeldung",
        "department": "Stadtkasse",
        "name": "Hund anmelden",
        "description": (
            "Wer in Musterstadt einen Hund hält, meldet ihn innerhalb von zwei Wochen an. "
            "Die Hundesteuer setzen wir danach mit einem Bescheid fest."
        ),
        "requirements": "Angaben zum Hund; bei Listenhunden die Erlaubnis des Ordnungsamts.",
        "processing_time": "Steuerbescheid und Steuermarke innerhalb von 3 Wochen",
        "keywords": "Hund, Hundesteuer, Steuermarke, Tier",
        "form_definition": [
            _ADDRESS,
            {"name": "dog_name", "label": "Name des Hundes", "type": "text", "required": True},
            {"name": "since", "label": "Hund gehalten seit", "type": "date", "required": True},
        ],
        "fee_kind": "free",
        "payment_policy": "none",
    },
    {
        "slug": "meldebescheinigung",
        "department": "Bürgeramt",
        "name": "Meldebescheinigung",
        "leika_key": "99115005000000",
        "description": "Die Bescheinigung über Ihre Wohnung, etwa für Arbeitgeber oder Behörden.",
        "requirements": "Sie sind in Musterstadt gemeldet.",
        "processing_time": "wird innerhalb von 3 Werktagen verschickt",
        "keywords": "Wohnsitz, Anmeldung, Bescheinigung, Meldeamt",
        "form_definition": [
            {"name": "birthdate", "label": "Geburtsdatum", "type": "date", "required": True},
            {
                "name": "extended",
                "label": "Erweiterte Bescheinigung (mit früheren Wohnungen)",
                "type": "checkbox",
            },
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 1000,
        "budget_line": "122010.431100",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "gewerbeanmeldung",
        "department": "Ordnungsamt",
        "name": "Gewerbe anmelden",
        "leika_key": "99050012104000",
        "description": "Wer ein Gewerbe beginnt, meldet es an; wir geben die Daten an IHK, "
        "Finanzamt und Berufsgenossenschaft weiter.",
        "requirements": "Personalausweis, bei erlaubnispflichtigen Gewerben die Erlaubnis.",
        "processing_time": "Bestätigung innerhalb von 5 Werktagen",
        "keywords": "Gewerbe, Selbstständigkeit, Firma, Gewerbeschein",
        "form_definition": [
            {"name": "activity", "label": "Tätigkeit", "type": "textarea", "required": True},
            {"name": "start", "label": "Beginn der Tätigkeit", "type": "date", "required": True},
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 2600,
        "budget_line": "122050.431500",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "baumfaellgenehmigung",
        "department": "Bauamt",
        "name": "Baumfällgenehmigung",
        "description": "Geschützte Bäume dürfen nur mit Genehmigung gefällt werden. Die Gebühr "
        "richtet sich nach der Zahl der Bäume.",
        "requirements": "Fotos der Bäume, Stammumfang in 1 m Höhe, Lageplan.",
        "processing_time": "etwa 4 Wochen",
        "keywords": "Baum, fällen, Baumschutzsatzung, Garten",
        "form_definition": [
            {
                "name": "trees",
                "label": "Anzahl der Bäume",
                "type": "integer",
                "required": True,
                "min_value": 1,
                "max_value": 50,
            },
            {"name": "location", "label": "Grundstück", "type": "text", "required": True},
        ],
        "fee_kind": "per_unit",
        "fee_amount_cents": 3000,
        "fee_unit_label": "Baum",
        "fee_quantity_field": "trees",
        "fee_min_cents": 5000,
        "fee_max_cents": 30000,
        "budget_line": "521010.431400",
        "payment_methods": ["card", "paypal", "sepa_debit"],
    },
    {
        "slug": "ferienfreizeit",
        "department": "Jugendamt",
        "name": "Ferienfreizeit anmelden",
        "description": "Zwei Wochen Zeltlager an der Rur für Kinder von 8 bis 13 Jahren. "
        "Bezahlt wird erst, wenn ein Platz bestätigt ist.",
        "requirements": "Einverständnis der Sorgeberechtigten.",
        "processing_time": "Zusage oder Warteliste innerhalb von 2 Wochen",
        "keywords": "Ferien, Kinder, Zeltlager, Sommer, Freizeit",
        "form_definition": [
            {"name": "name", "label": "Name des Kindes", "type": "text", "required": True},
            {
                "name": "birthdate",
                "label": "Geburtsdatum des Kindes",
                "type": "date",
                "required": True,
            },
            {"name": "phone", "label": "Telefon für Notfälle", "type": "phone", "required": True},
            {
                "name": "consent",
                "label": "Ich bin sorgeberechtigt und melde das Kind an.",
                "type": "checkbox",
                "required": True,
            },
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 18000,
        "budget_line": "362010.442100",
        "payment_policy": "after_decision",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "fundsache",
        "department": "Bürgeramt",
        "name": "Fundsache abholen",
        "description": "Ihr verlorener Gegenstand ist im Fundbüro? Sie melden die Abholung an "
        "und zahlen die Aufbewahrungsgebühr vorab.",
        "requirements": "Nachweis, dass der Gegenstand Ihnen gehört.",
        "processing_time": "Abholung ab dem nächsten Werktag",
        "keywords": "Fundbüro, verloren, gefunden, Fundsache",
        "form_definition": [
            {"name": "item", "label": "Gegenstand", "type": "text", "required": True},
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 1500,
        "budget_line": "122010.431100",
        "payment_methods": _ONLINE,
    },
    {
        "slug": "melderegisterauskunft",
        "department": "Bürgeramt",
        "name": "Auskunft aus dem Melderegister",
        "description": "Einfache Melderegisterauskunft über eine Person, etwa für Gläubiger.",
        "requirements": "Name und letzte bekannte Anschrift der gesuchten Person.",
        "processing_time": "etwa 3 Werktage",
        "keywords": "Auskunft, Melderegister, Adresse, Anschrift",
        "form_definition": [
            {"name": "person", "label": "Gesuchte Person", "type": "text", "required": True},
            {
                "name": "last_address",
                "label": "Letzte bekannte Anschrift",
                "type": "textarea",
                "required": True,
            },
        ],
        "fee_kind": "fixed",
        "fee_amount_cents": 1200,
        "budget_line": "122010.431100",
        "payment_methods": _ONLINE,
    },
]

NOTICES: list[Notice] = [
    Notice(
        "Hundesteuer {year}",
        "Stadtkasse",
        "611010.401300",
        9600,
        Person("Erika Mustermann", "Heidestraße 17"),
        14,
    ),
    Notice(
        "Hundesteuer {year} (zwei Hunde)",
        "Stadtkasse",
        "611010.401300",
        26400,
        Person("Hans Schmitz", "Kölner Landstraße 4", "52351"),
        14,
    ),
    Notice(
        "Verwarngeld Parkverstoß Markt",
        "Ordnungsamt",
        "122030.456100",
        2000,
        Person("Petra Schneider", "Schillerstraße 9"),
        7,
    ),
    # Overdue, so that reminders have something to remind of.
    Notice(
        "Verwarngeld Parken im Halteverbot",
        "Ordnungsamt",
        "122030.456100",
        3500,
        Person("Murat Yılmaz", "Bahnhofstraße 22"),
        -12,
    ),
    Notice(
        "Verwarngeld Geschwindigkeitsverstoß",
        "Ordnungsamt",
        "122030.456100",
        3000,
        Person("Anna Becker", "Lindenweg 3", "52353"),
        10,
    ),
    Notice(
        "Bußgeld Lärmschutz",
        "Ordnungsamt",
        "122030.456100",
        15000,
        Person("Klaus Wagner", "Am Mühlenteich 12", "52355"),
        21,
    ),
    Notice(
        "Gebührenbescheid Sondernutzung Gerüst",
        "Ordnungsamt",
        "122040.431300",
        12000,
        Person("Dachdeckerei Hoffmann GmbH", "Industriestraße 40", "52355"),
        30,
    ),
    Notice(
        "Gebührenbescheid Sondernutzung Außengastronomie",
        "Ordnungsamt",
        "122040.431300",
        25000,
        Person("Café am Markt, Inh. Lea Richter", "Markt 2"),
        30,
    ),
    Notice(
        "Elternbeitrag Kita {month}",
        "Jugendamt",
        "365010.432100",
        18700,
        Person("Sabine Koch", "Rosenstraße 8", "52351"),
        14,
    ),
    Notice(
        "Elternbeitrag Kita {next_month}",
        "Jugendamt",
        "365010.432100",
        18700,
        Person("Sabine Koch", "Rosenstraße 8", "52351"),
        44,
    ),
    Notice(
        "Elternbeitrag OGS {month}",
        "Jugendamt",
        "211010.432300",
        9500,
        Person("Thomas Weber", "Eichendorffstraße 27", "52353"),
        14,
    ),
    Notice(
        "Gebührenbescheid Baugenehmigung Einfamilienhaus",
        "Bauamt",
        "521010.431400",
        148000,
        Person("Julia und Marco Fischer", "Am Sonnenhang 5", "52355"),
        30,
    ),
    Notice(
        "Gebührenbescheid Abbruchanzeige",
        "Bauamt",
        "521010.431400",
        25000,
        Person("Wohnbau Musterstadt eG", "Gartenstraße 1"),
        30,
    ),
    Notice(
        "Gebührenbescheid Bauvoranfrage",
        "Bauamt",
        "521010.431400",
        42000,
        Person("Stefan Braun", "Weiherweg 11", "52351"),
        30,
    ),
    Notice(
        "Friedhofsgebühr Grabnutzung",
        "Stadtkasse",
        "553010.432200",
        98000,
        Person("Gisela Hartmann", "Kirchplatz 6"),
        30,
    ),
    Notice(
        "Verwaltungsgebühr Reisepass",
        "Bürgeramt",
        "122010.431100",
        7000,
        Person("Lena Schulz", "Nordstraße 30", "52353"),
        14,
    ),
    Notice(
        "Verwaltungsgebühr Personalausweis",
        "Bürgeramt",
        "122010.431100",
        3700,
        Person("David Neumann", "Südring 14", "52351"),
        14,
    ),
    Notice(
        "Verwaltungsgebühr Führungszeugnis",
        "Bürgeramt",
        "122010.431100",
        1300,
        Person("Maria Krüger", "Ahornallee 2", "52355"),
        14,
    ),
    Notice(
        "Gebühr Bewohnerparkausweis {next_year}",
        "Ordnungsamt",
        "122020.431200",
        3070,
        Person("Jonas Wolf", "Altstadtgasse 5"),
        21,
    ),
    Notice(
        "Gebühr Bewohnerparkausweis {next_year}",
        "Ordnungsamt",
        "122020.431200",
        3070,
        Person("Fatma Demir", "Altstadtgasse 9"),
        21,
    ),
    Notice(
        "Teilnahmebeitrag Ferienfreizeit Sommer {next_year}",
        "Jugendamt",
        "362010.442100",
        18000,
        Person("Nina Zimmermann", "Uferweg 3", "52353"),
        60,
    ),
    Notice(
        "Gebührenbescheid Gewerbeanmeldung",
        "Ordnungsamt",
        "122050.431500",
        2600,
        Person("Ali Kaya", "Marktstraße 18"),
        14,
    ),
    Notice(
        "Verwarngeld Radweg zugeparkt",
        "Ordnungsamt",
        "122030.456100",
        5500,
        Person("Martin Schäfer", "Wiesenstraße 2", "52351"),
        -5,
    ),
    Notice(
        "Hundesteuer {year}",
        "Stadtkasse",
        "611010.401300",
        9600,
        Person("Ursula Lange", "Feldstraße 45", "52355"),
        14,
    ),
    Notice(
        "Gebührenbescheid Sondernutzung Container",
        "Ordnungsamt",
        "122040.431300",
        4500,
        Person("Entrümpelung Busch", "Gewerbepark 7", "52355"),
        21,
    ),
]

PAID: list[PaidNotice] = [
    PaidNotice(
        "Verwaltungsgebühr Meldebescheinigung",
        "Bürgeramt",
        "122010.431100",
        1000,
        Person("Jan Hoffmann", "Goethestraße 12"),
        "card",
    ),
    PaidNotice(
        "Gebühr Bewohnerparkausweis {year}",
        "Ordnungsamt",
        "122020.431200",
        3070,
        Person("Sophie Meyer", "Altstadtgasse 14"),
        "paypal",
    ),
    PaidNotice(
        "Verwarngeld Parkverstoß Bahnhof",
        "Ordnungsamt",
        "122030.456100",
        2500,
        Person("Peter Lehmann", "Bahnhofstraße 3"),
        "sepa_debit",
    ),
    PaidNotice(
        "Gebührenbescheid Bauakteneinsicht",
        "Bauamt",
        "521010.431400",
        2500,
        Person("Karin Schröder", "Am Sonnenhang 9", "52355"),
        "card",
        paid_cents=5000,
        refund_cents=2500,
        refund_reason="Überzahlung: Gebühr doppelt gezahlt",
    ),
]

# The letters of Musterstadt: subject and text per kind, with {placeholders} (see the admin).
NOTICE_TEMPLATES: list[dict[str, str]] = [
    {
        "kind": "notice",
        "subject": "{zweck}",
        "body": (
            "Guten Tag {name},\n\n"
            "für {zweck} setzen wir den unten aufgeführten Betrag fest. Bitte zahlen Sie "
            "{betrag} bis zum {faellig_am} und geben Sie dabei das Kassenzeichen {kassenzeichen} "
            "an, damit wir Ihre Zahlung zuordnen können.\n\n"
            "Am einfachsten zahlen Sie online: Scannen Sie den QR-Code unten links mit dem Handy. "
            "Mit dem GiroCode daneben füllt Ihre Banking-App die Überweisung aus.\n\n"
            "Mit freundlichen Grüßen\nIhre Stadtverwaltung Musterstadt – {amt}"
        ),
    },
    {
        "kind": "reminder",
        "subject": "Zahlungserinnerung: {zweck}",
        "body": (
            "Guten Tag {name},\n\n"
            "für {zweck} konnten wir bis heute keinen vollständigen Zahlungseingang feststellen. "
            "Bitte zahlen Sie den offenen Betrag von {betrag} bis zum {faellig_am} unter Angabe "
            "des Kassenzeichens {kassenzeichen}. Für diese Erinnerung berechnen wir eine "
            "Mahngebühr von {mahngebuehr}; sie ist im offenen Betrag enthalten.\n\n"
            "Haben Sie in den letzten Tagen bereits gezahlt, betrachten Sie dieses Schreiben bitte "
            "als gegenstandslos.\n\n"
            "Mit freundlichen Grüßen\nIhre Stadtkasse Musterstadt"
        ),
    },
]

# Reminders: the city reminds a week after the due date with a fee of 5 euros; the youth office
# (childcare fees) waits two weeks and charges none.
REMINDER_POLICIES: list[dict[str, Any]] = [
    {
        "department": None,
        "days_overdue": 7,
        "pay_within_days": 7,
        "fee_cents": 500,
        "fee_budget_line": "611020.456300",
    },
    {"department": "Jugendamt", "days_overdue": 14, "pay_within_days": 14, "fee_cents": 0},
]

# Fixed passwords, printed by the command: demo only, never on a server others can reach.
STAFF: list[StaffUser] = [
    StaffUser(
        "admin",
        "Ada",
        "Admin",
        "demo-admin-2026",
        "administrator",
        is_staff=True,
        is_superuser=True,
    ),
    StaffUser("kasse", "Karl", "Kasse", "demo-kasse-2026", "cash_office", is_staff=True),
    StaffUser("buergeramt", "Bea", "Bürger", "demo-buergeramt-2026", "clerk", "Bürgeramt"),
    StaffUser(
        "ordnungsamt-leitung",
        "Olaf",
        "Ordnung",
        "demo-ordnungsamt-2026",
        "department_head",
        "Ordnungsamt",
    ),
]

# The online service that pays through Rathauskasse over XBezahldienste (demo credentials only).
XBEZAHLDIENSTE: dict[str, Any] = {
    "name": "Demo-Portal (Online-Dienste des Bürgeramts)",
    "originator_id": "demo-portal",
    "endpoint_id": "musterstadt",
    "department": "Bürgeramt",
    "default_budget_line": "122010.431100",
    "method": "card",
    "booking_data_mapping": {"Haushaltsstelle": "budget_line", "Personenkonto": "debtor_account"},
    "required_booking_keys": ["Haushaltsstelle"],
    "basic_username": "demo",
    "basic_password": "demo-secret",
}

# The finance system's export of open items (receivables it has booked, with their own
# Kassenzeichen from the number range 900000 up), and the profile that reads it. Import it with
# `manage.py import_open_items src/rathauskasse/demo/offene_posten.csv --profile finanzverfahren`.
OPEN_ITEMS_CSV = Path(__file__).with_name("offene_posten.csv")
OPEN_ITEM_PROFILE: dict[str, Any] = {
    "name": "finanzverfahren",
    "description": "Offene Posten aus dem Finanzverfahren (CSV-Export, Windows-1252)",
    "encoding": "cp1252",
    "delimiter": ";",
    "quote_char": '"',
    "has_header": True,
    "decimal_separator": ",",
    "thousands_separator": ".",
    "date_format": "%d.%m.%Y",
    "column_kassenzeichen": "Kassenzeichen",
    "column_amount": "Betrag",
    "column_debtor_name": "Name",
    "column_debtor_street": "Straße",
    "column_debtor_postcode": "PLZ",
    "column_debtor_city": "Ort",
    "column_debtor_country": "Land",
    "column_due_date": "Fällig am",
    "column_purpose": "Buchungstext",
    "column_budget_line": "Haushaltsstelle",
    "column_department": "Amt",
    "column_debtor_account": "Personenkonto",
    "column_reference": "Belegnummer",
    "default_department": "Stadtkasse",
    "payment_days": 14,
}


#: The export presets the demo city has (all of them); these also run daily (Europe/Berlin).
EXPORT_DAILY_AT: dict[str, dt.time] = {"infoma-zahlungseingaenge": dt.time(6, 0)}
