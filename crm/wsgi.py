import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

from crm.running import announce  # noqa: E402  (after Django is set up)

announce("web")
