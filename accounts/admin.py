"""Admin of sign-in: axes' audit rows (kept as axes registers them), an Unlock action, sessions."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import UserSession

# axes registers AccessAttempt, AccessLog and AccessFailureLog itself (accounts
# comes after axes in INSTALLED_APPS); the attempts get an explicit Unlock.
admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    actions = ["unlock", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock: forget these failures (the client may sign in again)")
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count = services.login_unlock(attempts=queryset, by=request.user)
        self.message_user(request, f"Unlocked: {count} lockout counter(s) removed.")


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "method", "created_at", "ip_address", "user_agent"]
    list_filter = ["method", "created_at"]
    search_fields = ["user__username", "ip_address", "user_agent"]
    list_select_related = ["user"]
    readonly_fields = ["user", "session_key", "method", "ip_address", "user_agent", "created_at"]
    actions = ["sign_out_users_everywhere"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Sign these users out everywhere")
    def sign_out_users_everywhere(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = {row.user for row in queryset.select_related("user")}
        ended = sum(services.sessions_sign_out_everywhere(user=user) for user in users)
        self.message_user(request, f"{ended} session(s) of {len(users)} user(s) ended.")
