"""Web UI routes for a team's manager: the Team page and its hand-over of a member's leads."""

from django.urls import path

from leads.pages import team

urlpatterns = [
    path("team/", team.team, name="team"),
    path(
        "team/members/<int:id>/reassign/",
        team.team_member_reassign,
        name="team-member-reassign",
    ),
]
