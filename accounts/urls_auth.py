from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import passwords, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        passwords.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        passwords.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
