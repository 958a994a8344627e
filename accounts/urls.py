from django.urls import path

from accounts import views

urlpatterns = [
    path("settings/tokens/", views.token_list, name="token-list"),
    path("settings/tokens/<int:id>/revoke/", views.token_revoke, name="token-revoke"),
    path("settings/tokens/revoke-all/", views.token_revoke_all, name="token-revoke-all"),
]
