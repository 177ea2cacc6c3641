"""Bench-only settings: the project's settings with the reference endpoint's URLconf.

Everything else (middleware, database, connections, cache) is what the API runs with.
"""

from rathauskasse.config.settings import *  # noqa: F403

ROOT_URLCONF = "_bench_urls"
