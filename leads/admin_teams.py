"""Teams in the Django admin: a team with its members inline (user, role, open leads).

Writes go through ``leads.teams`` like the ``team`` command's. A user belongs to at most one
team: adding one who is in another team here is a form error naming that team (the command,
run deliberately from the shell, moves them instead). Counts are annotations on the one
query that lists the rows, so neither the team list nor a team's page runs a query per row.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from leads.admin import _copy_saved
from leads.models import Role, Team, TeamMembership
from leads.teams import (
    OPEN_STATUSES,
    member_count,
    open_leads_of_team,
    open_leads_of_user,
    team_delete,
    team_ensure,
    team_member_remove,
    team_member_set,
    team_name_check,
    team_rename,
)

User = get_user_model()


def _username(user: Any) -> str:
    return user.get_username()


def open_leads_url(user_id: int) -> str:
    """The admin's lead list of one owner's open leads."""
    query = urlencode({"user__id__exact": user_id, "status__in": ",".join(OPEN_STATUSES)})
    return f"{reverse('admin:leads_lead_changelist')}?{query}"


class TeamAdminForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name"]

    def clean_name(self) -> str:
        try:
            return team_name_check(name=self.cleaned_data.get("name"), exclude_id=self.instance.pk)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict.get("name", exc.messages)) from None


class MembershipForm(forms.ModelForm):
    class Meta:
        model = TeamMembership
        fields = ["user", "role"]

    def clean(self):
        cleaned = super().clean() or {}
        user = cleaned.get("user")
        if user is None:
            return cleaned
        other = (
            TeamMembership.objects.select_related("team")
            .filter(user_id=user.pk)
            .exclude(pk=self.instance.pk)
            .first()
        )
        if other is None:
            return cleaned
        if other.team_id is not None and other.team_id == self.instance.team_id:
            self.add_error("user", f"{_username(user)} is already a member of this team.")
        else:
            self.add_error(
                "user",
                f"{_username(user)} is already in team {other.team} (as "
                f"{other.get_role_display().lower()}); a user belongs to one team at most. "
                f"Remove them from {other.team} first.",
            )
        return cleaned


class MembershipFormSet(BaseInlineFormSet):
    """Reads the user choices once for every row: a select per row would otherwise list the
    users with a query each."""

    @cached_property
    def _user_choices(self) -> list[tuple[Any, str]]:
        users = User._default_manager.select_related("crm_membership__team").order_by(
            User.USERNAME_FIELD
        )
        choices: list[tuple[Any, str]] = [("", "---------")]
        for user in users:
            label = _username(user)
            if not user.is_active:
                label += " (deactivated)"
            membership = getattr(user, "crm_membership", None)
            if membership is not None and membership.team_id != self.instance.pk:
                label += f" (in {membership.team})"
            choices.append((user.pk, label))
        return choices

    def add_fields(self, form, index) -> None:
        # Called for every row and for the empty row the "Add another" link copies.
        super().add_fields(form, index)
        field = form.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.choices = self._user_choices


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    form = MembershipForm
    formset = MembershipFormSet
    fields = ["user", "role", "open_leads", "joined_at"]
    readonly_fields = ["open_leads", "joined_at"]
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user", "team")
            .annotate(open_lead_count=open_leads_of_user())
            .order_by("role", "user__username")  # managers first ("manager" < "rep")
        )

    @admin.display(description="open leads")
    def open_leads(self, obj: TeamMembership) -> str | None:
        count = getattr(obj, "open_lead_count", None)
        if count is None or obj.user_id is None:
            return None
        return format_html('<a href="{}">{}</a>', open_leads_url(obj.user_id), count)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    inlines = [MembershipInline]
    list_display = ["name", "managers", "member_total", "open_lead_total", "created_at"]
    search_fields = ["name"]
    ordering = ["name"]
    fields = ["name", "created_at"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        managers = TeamMembership.objects.filter(role=Role.MANAGER).select_related("user")
        return (
            super()
            .get_queryset(request)
            .annotate(member_total=member_count(), open_lead_total=open_leads_of_team())
            .prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=managers.order_by("user__username"),
                    to_attr="manager_memberships",
                )
            )
        )

    @admin.display(description="managers")
    def managers(self, team: Team) -> str | None:
        memberships = getattr(team, "manager_memberships", [])
        return format_html_join(", ", "{}", ((_username(m.user),) for m in memberships)) or None

    @admin.display(description="members", ordering="member_total")
    def member_total(self, team: Team) -> int:
        return team.member_total  # type: ignore[attr-defined]

    @admin.display(description="open leads", ordering="open_lead_total")
    def open_lead_total(self, team: Team) -> int:
        return team.open_lead_total  # type: ignore[attr-defined]

    # --- writes, through leads.teams ---

    def save_model(self, request, obj, form, change):
        if change:
            saved = team_rename(team=Team.objects.get(pk=obj.pk), name=form.cleaned_data["name"])
        else:
            saved, _ = team_ensure(name=form.cleaned_data["name"])
        _copy_saved(obj, saved)

    def delete_model(self, request, obj):
        team_delete(team=obj)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            team_delete(team=team)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, MembershipFormSet):
            super().save_formset(request, form, formset, change)
            return
        team = form.instance
        deleted: list[TeamMembership] = []
        changed: list[tuple[Any, list[str]]] = []  # (user, changed field names)
        added: list[Any] = []
        with transaction.atomic():
            for row in formset.deleted_forms:
                if row.instance.pk is not None:
                    team_member_remove(team=team, user=row.instance.user)
                    deleted.append(row.instance)
            for row in formset.forms:
                if row in formset.deleted_forms or not row.has_changed():
                    continue
                user = row.cleaned_data.get("user")
                if user is None:
                    continue
                if row.instance.pk is not None and "user" in row.changed_data:
                    # The row now names someone else: the person it named leaves the team.
                    before = User._default_manager.get(pk=row.initial["user"])
                    team_member_remove(team=team, user=before)
                team_member_set(team=team, user=user, role=row.cleaned_data["role"])
                if row.instance.pk is None:
                    added.append(user)
                else:
                    changed.append((user, row.changed_data))
        # What the admin's history of this team records (Django reads these after saving).
        saved = {m.user_id: m for m in team.memberships.select_related("user", "team")}
        formset.new_objects = [saved[user.pk] for user in added]
        formset.changed_objects = [(saved[user.pk], fields) for user, fields in changed]
        formset.deleted_objects = deleted
