"""Settings, read once from the environment (12-factor).

Every variable is documented in `.env.example`. Without any environment the project runs as the
demo: SQLite under `var/`, debug on, tasks in the database queue.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="django-insecure-demo-key-change-me-in-production-0123456789abcdef",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The absolute address of the platform: providers send payers and notifications back here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "ninja",
    "rathauskasse.core",
    "rathauskasse.organisations",
    "rathauskasse.events",
    "rathauskasse.ledger",
    "rathauskasse.catalogue",
    "rathauskasse.receivables",
    "rathauskasse.applications",
    "rathauskasse.payments",
    "rathauskasse.finance",
    "rathauskasse.reconciliation",
    "rathauskasse.providers.sandbox",
    "rathauskasse.providers.xbezahldienste",
    "rathauskasse.api",
    "rathauskasse.portal",
    "rathauskasse.backoffice",
    "rathauskasse.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "rathauskasse.core.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "rathauskasse.config.urls"
WSGI_APPLICATION = "rathauskasse.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "src" / "rathauskasse" / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "rathauskasse.portal.context_processors.portal",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'rathauskasse.sqlite3'}"),
}
# Persistent connections: without them an insert endpoint drops from ~1,800 to ~320 requests/s.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing, and take it at BEGIN so that a
    # read-then-write transaction cannot deadlock against another writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # staff in the admin
    "allauth.account.auth_backends.AuthenticationBackend",  # citizens by e-mail address
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "src" / "rathauskasse" / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# KERN UX's stylesheet and fonts, built from the npm package by `make install` (tools/).
STATICFILES_DIRS = [BASE_DIR / "build" / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work: django-tasks with its database backend; `manage.py db_worker` runs the queue.
# The backend must be able to run a task later (`run_after`): payment expiry, webhook and refund
# retries are scheduled that way, so an "immediate" backend is not an option.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail as one URL (django-environ), e.g. smtp+tls://user:password@mail.example:587
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kasse@musterstadt.example")

# Payment providers: identifier -> dotted path of the factory that builds it. The payments domain
# finds providers only through this registry; it never imports a concrete provider.
PAYMENT_PROVIDERS = {
    "sandbox": "rathauskasse.providers.sandbox.adapter.build_provider",
    "xbezahldienste": "rathauskasse.providers.xbezahldienste.adapter.build_provider",
}
# Shared secret of the sandbox provider's signed notifications.
SANDBOX_WEBHOOK_SECRET = env.str("SANDBOX_WEBHOOK_SECRET", default="sandbox-demo-secret")
# How long the sandbox keeps a "pending" payment before it decides (seconds).
SANDBOX_PENDING_SECONDS = env.int("SANDBOX_PENDING_SECONDS", default=15)
# Minutes after its creation when an unfinished payment is checked with its provider and stopped.
PAYMENT_EXPIRY_MINUTES = env.int("PAYMENT_EXPIRY_MINUTES", default=120)
# XBezahldienste services (ePayBL, pmPayment, epay21, ...): each organisation's connection is
# configured in the admin; these are the defaults of every connection. Seconds to connect and to
# wait for an answer, how often a start whose answer was lost is sent (same requestId), and
# whether plain http is allowed (never in production: the demo and tests against a local server).
XBEZAHLDIENSTE_CONNECT_TIMEOUT = env.int("XBEZAHLDIENSTE_CONNECT_TIMEOUT", default=5)
XBEZAHLDIENSTE_READ_TIMEOUT = env.int("XBEZAHLDIENSTE_READ_TIMEOUT", default=10)
XBEZAHLDIENSTE_START_ATTEMPTS = env.int("XBEZAHLDIENSTE_START_ATTEMPTS", default=2)
XBEZAHLDIENSTE_ALLOW_HTTP = env.bool("XBEZAHLDIENSTE_ALLOW_HTTP", default=DEBUG)

# The hour (Europe/Berlin) of the daily reminder run; `manage.py send_reminders` starts the chain.
REMINDER_HOUR = env.int("REMINDER_HOUR", default=6)

# Shared cache (rate limits): one process in the demo; set CACHE_URL=redis://... when several
# web processes serve the portal, so that a limit holds across all of them.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- REST API ---------------------------------------------------------------------------------
# Requests per API key and minute; more get 429 with Retry-After.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=1200)
# The provider that takes payments created with live API keys (test keys: always the sandbox).
API_PAYMENT_PROVIDER = env.str("API_PAYMENT_PROVIDER", default="sandbox")

# --- XBezahldienste (Rathauskasse as the Bezahldienst of online services) ---------------------
# Requests per (originatorId, endPointId) pair and minute; more get 429 with Retry-After.
XBEZAHLDIENSTE_RATE_LIMIT = env.int("XBEZAHLDIENSTE_RATE_LIMIT", default=600)
# Lifetime of the OAuth2 access tokens from /xbezahldienste/v1/oauth/token (seconds).
XBEZAHLDIENSTE_TOKEN_SECONDS = env.int("XBEZAHLDIENSTE_TOKEN_SECONDS", default=3600)
# Mutual TLS, terminated by the proxy in front: the request header in which it passes the
# verified client certificate (URL-encoded PEM) or its SHA-256 fingerprint. Empty: mTLS is off,
# and the header is ignored. The proxy must set this header on every request.
XBEZAHLDIENSTE_CLIENT_CERT_HEADER = env.str("XBEZAHLDIENSTE_CLIENT_CERT_HEADER", default="")

# --- citizen portal -----------------------------------------------------------------------------
# The organisation whose portal answers on hosts no organisation claims (its slug); empty: the
# only organisation there is.
PORTAL_ORGANISATION = env.str("PORTAL_ORGANISATION", default="")
# The provider that takes the portal's payments (a key of PAYMENT_PROVIDERS).
PORTAL_PAYMENT_PROVIDER = env.str("PORTAL_PAYMENT_PROVIDER", default="sandbox")
# Kassenzeichen lookups per client and minute, against guessing other people's notices.
PORTAL_LOOKUP_LIMIT = env.int("PORTAL_LOOKUP_LIMIT", default=10)
# Other origins the browser may send forms to or be redirected to after a form (CSP form-action):
# the hosted pages of real payment providers.
CSP_FORM_ACTION_ORIGINS = env.list("CSP_FORM_ACTION_ORIGINS", default=[])

# Citizen accounts (django-allauth): log in with the e-mail address, which must be verified.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# allauth's own rate limits (failed logins, sign-ups, reset mails) stay at their defaults.
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:mine"
ACCOUNT_LOGOUT_REDIRECT_URL = "portal:home"

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind TLS in production: redirect to https and tell browsers to stay there.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
