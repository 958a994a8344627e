"""Settings for app servers that tests start as real processes (gunicorn, Celery workers).

The production settings, with one difference the in-process tests make too (the root
conftest's ``_plain_static_storage``): static files are served from the finders, so a page
renders without ``collectstatic`` having run. Everything else (database, broker, cache,
transaction modes) comes from the environment exactly as in production.
"""

from crm.settings import *  # noqa: F403
from crm.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
