"""Web UI routes for the pipeline board and the dashboard."""

from django.urls import path

from leads.pages import board, dashboard

urlpatterns = [
    path("board/", board.board, name="board"),
    path("board/column/<str:status>/", board.board_column, name="board-column"),
    path("board/move/", board.board_move, name="board-move"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
