import os
import secrets
import socket

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def admin_url() -> str:
    """Where the server this install runs listens (WEB_BIND, as the Procfile binds it)."""
    bind = os.environ.get("WEB_BIND", "").strip() or "127.0.0.1:8000"
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        host, port = bind, "8000"
    if host in ("0.0.0.0", "", "::", "[::]"):  # noqa: S104  (names it, binds nothing)
        host = socket.gethostname()
    return f"http://{host}:{port}/admin/"


class Command(BaseCommand):
    help = (
        "On a database with no user at all, create the first admin account "
        "and print its password once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        bar = "=" * 64
        self.stdout.write(
            f"\n{bar}\n First admin account created (shown only this once):\n"
            f"   username: {username}\n   password: {password}\n"
            f" Sign in at {admin_url()} and change it there.\n{bar}\n"
        )
