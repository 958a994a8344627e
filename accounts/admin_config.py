"""django.contrib.admin with this project's site, whose sign-in is throttled.

In INSTALLED_APPS in place of "django.contrib.admin"; a module of its own because app configs
load before models, and the site's module imports the auth forms (and so the models).
"""

from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.CrmAdminSite"
