"""The admin's users, with what deleting one who owns leads should offer.

Deleting a user deletes everything they own, and their leads' companies protect the leads, so
Django's own page can only refuse. Instead, for a user who owns leads or companies the delete
page offers: reassign everything to a colleague and delete the user (``leads.reassign``),
deactivate them instead (nothing is lost, they can no longer sign in), or delete them with
their leads. The bulk "delete selected" action names such users and sends the admin to that
page rather than building the list of every lead it would delete.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from leads.models import Company, Lead, LeadEvent, Source, TeamMembership
from leads.reassign import owner_reassign_all
from leads.services import leads_delete

User = get_user_model()


class OwnerDeleteForm(forms.Form):
    CHOICES = (
        ("reassign", "Reassign their leads and companies, then delete the user"),
        ("deactivate", "Deactivate the user instead (keeps everything; they cannot sign in)"),
        ("delete", "Delete the user and all their leads, companies and history"),
    )
    choice = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect, initial="reassign")
    to_user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Reassign to"
    )

    def __init__(self, *args, owner, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            User.objects.filter(is_active=True).exclude(pk=owner.pk).order_by("username")
        )

    def clean(self):
        data = super().clean() or {}
        if data.get("choice") == "reassign" and not data.get("to_user"):
            self.add_error("to_user", "Choose who takes over their leads.")
        return data


def _owned(user) -> tuple[int, int]:
    return Lead.objects.filter(user=user).count(), Company.objects.filter(user=user).count()


def _membership(user) -> TeamMembership | None:
    try:
        return user.crm_membership
    except TeamMembership.DoesNotExist:
        return None


class CrmUserAdmin(UserAdmin):
    # The user's team and role, read with the user (a LEFT JOIN), shown on the list and the
    # user's page; set up on the team's page or with the `team` command.
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "crm_team")
    list_select_related = ("crm_membership__team",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("crm_membership__team")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Team", {"fields": ("crm_team", "crm_role")})]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else (*readonly, "crm_team", "crm_role")

    @admin.display(description="team")
    def crm_team(self, user) -> str | None:
        membership = _membership(user)
        if membership is None:
            return None
        url = reverse("admin:leads_team_change", args=[membership.team_id])
        return format_html('<a href="{}">{}</a>', url, membership.team)

    @admin.display(description="role")
    def crm_role(self, user) -> str | None:
        membership = _membership(user)
        return None if membership is None else membership.get_role_display()

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        if user is None or not self.has_delete_permission(request, user):
            return super().delete_view(request, object_id, extra_context)
        lead_count, company_count = _owned(user)
        if not lead_count and not company_count:
            return super().delete_view(request, object_id, extra_context)
        if request.method == "POST" and "choice" in request.POST:
            form = OwnerDeleteForm(request.POST, owner=user)
            if form.is_valid():
                done = self._act(request, user, form)
                if done:
                    return HttpResponseRedirect(done)
        else:
            form = OwnerDeleteForm(owner=user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete {user}?",
            "opts": self.opts,
            "object": user,
            "lead_count": lead_count,
            "company_count": company_count,
            "form": form,
        }
        return TemplateResponse(request, "admin/auth/user/delete_owner.html", context)

    def _act(self, request, user, form) -> str | None:
        """Carry out the chosen way; the address to go to next, or None (form errors)."""
        choice = form.cleaned_data["choice"]
        changelist = reverse("admin:auth_user_changelist")
        if choice == "deactivate":
            user.is_active = False
            user.save(update_fields=["is_active"])
            self.log_change(request, user, "Deactivated instead of deleted (owns leads).")
            messages.success(request, f"{user} is deactivated; their leads stay.")
            return reverse("admin:auth_user_change", args=[user.pk])
        label = str(user)
        try:
            with transaction.atomic():
                if choice == "reassign":
                    to_user = form.cleaned_data["to_user"]
                    moved = owner_reassign_all(from_user=user, to_user=to_user, source=Source.ADMIN)
                    companies = moved.companies_moved + moved.companies_merged
                    text = (
                        f"{moved.leads} lead(s) and {companies} compan(ies) of {label} now "
                        f"belong to {to_user}; {label} is deleted."
                    )
                else:
                    count = leads_delete(leads=Lead.objects.filter(user=user), actor=request.user)
                    text = f"{label} is deleted with their {count} lead(s)."
                self.log_deletions(request, User.objects.filter(pk=user.pk))
                user.delete()
        except ValidationError as exc:
            for message in exc.message_dict.get("to_user", exc.messages):
                form.add_error("to_user", message)
            return None
        messages.success(request, text)
        return changelist

    def get_deleted_objects(self, objs, request):
        owners = Lead.objects.filter(user__in=list(objs)).values("user").annotate(n=Count("id"))
        counts = {row["user"]: row["n"] for row in owners}
        if counts:
            # Explain instead of listing every lead the deletion would take.
            explained: list[str] = [
                format_html(
                    '{} owns {} lead(s): <a href="{}">delete this user alone</a> to reassign '
                    "their leads first, or deactivate them.",
                    user,
                    counts[user.pk],
                    reverse("admin:auth_user_delete", args=[user.pk]),
                )
                for user in objs
                if user.pk in counts
            ]
            return [], {}, set(), explained
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(LeadEvent._meta.verbose_name))
        return deleted, model_count, perms_needed, protected


admin.site.unregister(User)
admin.site.register(User, CrmUserAdmin)
