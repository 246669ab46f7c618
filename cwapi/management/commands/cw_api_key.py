"""`manage.py cw_api_key USERNAME`: issue an API member key pair to a user and print
`PUBLIC_KEY PRIVATE_KEY` on one line (for automation)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidInput
from cwapi import keys


class Command(BaseCommand):
    help = "Issue a ConnectWise-compatible API key pair to a user; prints PUBLIC PRIVATE."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--description", default="", help="What the key is for.")

    def handle(self, *args, username: str, description: str, **options) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user {username}.")
        try:
            key, private_key = keys.api_key_issue(user=user, description=description)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{key.public_key} {private_key}")
