import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


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
            f" Sign in at http://127.0.0.1:8000/admin/ and change it there.\n{bar}\n"
        )
