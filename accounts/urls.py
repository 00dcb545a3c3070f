"""Sign-in pages, under /accounts/ (names at the root: LOGIN_URL is "login")."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("me/", views.account, name="account"),
    path("me/sign-out-everywhere", views.sign_out_everywhere, name="sign-out-everywhere"),
    # Single sign-on: /accounts/oidc/authenticate/ and /accounts/oidc/callback/ (404 while off).
    path("oidc/", include("mozilla_django_oidc.urls")),
]
