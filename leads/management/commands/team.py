"""Set up a sales team from the shell, idempotently (api.md "Teams, roles and assignment").

    python manage.py team NAME [--manager USER ...] [--member USER ...] [--remove USER ...]

Creates the team when missing; a user named again gets the role given; a user in another team
is moved, and the output says so. Every name is checked before anything is written, and
everything happens in one transaction: an unknown user changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from leads.models import Role
from leads.teams import (
    TEAM_NAME_MAX_LENGTH,
    MemberOutcome,
    team_ensure,
    team_member_remove,
    team_member_set,
    team_members,
)

OPTIONS = (("manager", "--manager"), ("member", "--member"), ("remove", "--remove"))


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Create or update a sales team: add managers and members (reps), change their roles, "
        "remove them. Running it again with the same names changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "name", metavar="NAME", help=f"the team's name (up to {TEAM_NAME_MAX_LENGTH})"
        )
        # extend + "+": both `--member a b` and `--member a --member b`.
        parser.add_argument(
            "--manager",
            action="extend",
            nargs="+",
            default=[],
            metavar="USER",
            help="usernames to make the team's managers",
        )
        parser.add_argument(
            "--member",
            action="extend",
            nargs="+",
            default=[],
            metavar="USER",
            help="usernames to make reps of the team",
        )
        parser.add_argument(
            "--remove",
            action="extend",
            nargs="+",
            default=[],
            metavar="USER",
            help="usernames to take out of the team (their leads stay theirs)",
        )

    def handle(self, *args, name: str, **options):
        wanted = self._wanted(options)
        users = self._users(list(wanted))
        try:
            with transaction.atomic():
                team, created = team_ensure(name=name)
                outcomes: list[MemberOutcome] = []
                for username, option in wanted.items():
                    user = users[username]
                    if option == "remove":
                        outcomes.append(team_member_remove(team=team, user=user))
                    else:
                        role = Role.MANAGER if option == "manager" else Role.REP
                        outcomes.append(team_member_set(team=team, user=user, role=role))
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None

        if created:
            self.stdout.write(f"Created team {team}.")
        for outcome in outcomes:
            if outcome.changed or outcome.other_team is not None or outcome.role is None:
                self.stdout.write(outcome.describe())
        if not created and not any(outcome.changed for outcome in outcomes):
            self.stdout.write(f"Team {team}: unchanged.")
        self._list(team)

    def _wanted(self, options) -> dict[str, str]:
        """username → the option naming it; a user in two options is an error."""
        wanted: dict[str, str] = {}
        for option, flag in OPTIONS:
            for raw in options[option]:
                username = raw.strip()
                if not username:
                    raise CommandError(f"{flag} was given an empty username.")
                earlier = wanted.get(username)
                if earlier is not None and earlier != option:
                    raise CommandError(
                        f"{username!r} is named in both --{earlier} and {flag}: "
                        "name each user once."
                    )
                wanted[username] = option
        return wanted

    def _users(self, usernames: list[str]) -> dict:
        User = get_user_model()
        field = User.USERNAME_FIELD
        found = {
            user.get_username(): user
            for user in User._default_manager.filter(**{f"{field}__in": usernames})
        }
        missing = [username for username in usernames if username not in found]
        if missing:
            names = ", ".join(repr(username) for username in missing)
            noun = "user named" if len(missing) == 1 else "users named"
            raise CommandError(f"No {noun} {names}; nothing was changed.")
        return found

    def _list(self, team) -> None:
        members = list(team_members(team=team))
        if not members:
            self.stdout.write(f"{team} has no members.")
            return
        self.stdout.write(f"Members of {team}:")
        width = max(len(m.user.get_username()) for m in members)
        for membership in members:
            user = membership.user
            note = "" if user.is_active else "  (deactivated)"
            self.stdout.write(f"  {user.get_username():<{width}}  {membership.role}{note}")
