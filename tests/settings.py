"""Settings for the test suite: the project's settings with test doubles where it matters."""

from rathauskasse.config.settings import *  # noqa: F403

# Tasks are collected, not run: tests run them explicitly (see `run_tasks` in conftest).
TASKS = {"default": {"BACKEND": "tests.support.SharedDummyBackend"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
SANDBOX_WEBHOOK_SECRET = "test-secret"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}
