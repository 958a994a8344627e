"""The Team page: a manager's members with their pipelines, and the hand-over of a
deactivated member's leads to an active colleague.

For anyone who is not a team's manager the page does not exist: the same 404 as an address
nobody has (and no link to it in the navigation). A member outside the manager's team is as
missing as a member id nobody has. Reads come from leads.team_selectors; the hand-over is
leads.reassign.leads_reassign, the service behind ``POST /v1/leads/reassign``.

The hand-over runs while the manager waits, in one transaction, like the API's: all or
nothing (api.md), which the bulk job machinery (leads.bulk_jobs, a batch per transaction,
status changes and deletes only) would not keep.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from crm.ids import parse_id
from leads import reassign, team_selectors
from leads.models import Source
from leads.team_selectors import MemberLeads


def _team_page(
    request: HttpRequest,
    *,
    status: int = 200,
    member: MemberLeads | None = None,
    error: str = "",
    chosen: int | None = None,
) -> HttpResponse:
    """The page, with ``error`` on ``member``'s hand-over form (and their choice kept)."""
    page = team_selectors.team_page(user=request.user)
    forms = [
        {
            "member": m,
            "error": error if member is not None and m.id == member.id else "",
            "chosen": chosen if member is not None and m.id == member.id else None,
        }
        for m in page.handovers
    ]
    # No form of theirs on the page (an active member, say): the error stands on its own.
    shown = member is None or any(m.id == member.id for m in page.handovers)
    context: dict[str, Any] = {
        "page": page,
        "handover_forms": forms,
        "page_error": "" if shown else error,
    }
    return render(request, "leads/team.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request)


@login_required
@require_POST
def team_member_reassign(request: HttpRequest, id: int) -> HttpResponse:
    """ "Reassign all of X's leads to…": a confirmation with the count, then the move."""
    member = team_selectors.team_member(user=request.user, member_id=id)
    to_user_id = parse_id(request.POST.get("to_user", ""))

    def refused(error: str, status: int = 400) -> HttpResponse:
        return _team_page(request, status=status, member=member, error=error, chosen=to_user_id)

    if to_user_id is None:
        return refused("Choose who the leads go to.")
    if to_user_id == member.id:
        return refused(f"Choose someone else: these are {member.name}'s leads already.")
    try:
        target = reassign.check_assignee(actor=request.user, user_id=to_user_id)
    except ValidationError as error:
        return refused(" ".join(error.messages))
    target_name = reassign.display_name(target)
    if request.POST.get("confirm") != "1":
        context = {"member": member, "target": target, "target_name": target_name}
        return render(request, "leads/team_reassign_confirm.html", context)
    try:
        moved = reassign.leads_reassign(
            actor=request.user,
            leads=team_selectors.member_leads(user=request.user, member_id=member.id),
            to_user_id=target.pk,
            source=Source.UI,
        )
    except reassign.EmailTaken as clash:
        more = f" and {clash.count - 1} more" if clash.count > 1 else ""
        message = format_html(
            '{} already has a lead with the email {}: <a href="{}">lead {}</a>{}. Merge them '
            "with {}'s first; nothing was reassigned.",
            target_name,
            clash.email,
            reverse("lead-detail", args=[clash.lead_id]),
            clash.lead_id,
            more,
            member.name,
        )
        return refused(message, status=409)
    except ValidationError as error:
        # The colleague was deactivated or left the team since the confirmation.
        return refused(" ".join(m for ms in error.message_dict.values() for m in ms))
    if moved:
        messages.success(
            request,
            f"{moved:,} lead{'s' if moved != 1 else ''} of {member.name} reassigned to "
            f"{target_name}.",
        )
    else:
        messages.info(request, f"{member.name} has no leads to reassign; nothing changed.")
    return redirect("team")
