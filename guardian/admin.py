"""Guardian in the admin: keys (plaintext shown once), tenants, policy switches, denials.

A new key's plaintext is rendered straight into the page that answers the
"Save" — never put in a message, the session or a cookie — with
``Cache-Control: no-store``; it cannot be seen again afterwards.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.views.decorators.cache import add_never_cache_headers

from guardian import pdp, selectors, services
from guardian.models import APIKey, Denial, PolicyOverride, Scope, Tenant
from lukhas_site.errors import LukhasError


class APIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = APIKey
        fields = [
            "name",
            "tenant",
            "scopes",
            "requests_per_minute",
            "tokens_per_minute",
            "daily_token_quota",
            "expires_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields["requests_per_minute"].initial = settings.GUARDIAN_DEFAULT_RPM
            self.fields["tokens_per_minute"].initial = settings.GUARDIAN_DEFAULT_TPM
            self.fields["daily_token_quota"].initial = settings.GUARDIAN_DEFAULT_DAILY_QUOTA


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    form = APIKeyForm
    list_display = (
        "prefix",
        "name",
        "tenant",
        "scope_list",
        "requests_per_minute",
        "tokens_per_minute",
        "daily_token_quota",
        "last_used_at",
        "expires_at",
        "revoked",
    )
    list_filter = ("revoked", "tenant")
    search_fields = ("name", "public_id")
    list_select_related = ("tenant",)
    actions = ["revoke_selected"]
    readonly_fields = (
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked",
        "revoked_at",
        "budget",
        "recent_denials",
    )

    def get_fieldsets(self, request: HttpRequest, obj: APIKey | None = None) -> list:
        editable = (
            None,
            {
                "fields": [
                    "name",
                    "tenant",
                    "scopes",
                    ("requests_per_minute", "tokens_per_minute", "daily_token_quota"),
                    "expires_at",
                ]
            },
        )
        if obj is None:
            return [editable]
        return [
            (None, {"fields": ["prefix"]}),
            editable,
            (
                "State",
                {
                    "fields": [
                        "created_at",
                        "created_by",
                        "last_used_at",
                        ("revoked", "revoked_at"),
                    ]
                },
            ),
            ("Budget now", {"fields": ["budget", "recent_denials"]}),
        ]

    def has_delete_permission(self, request: HttpRequest, obj: APIKey | None = None) -> bool:
        return False  # revoke instead: the denial audit keeps pointing at the key

    @admin.display(description="scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(sorted(obj.scopes or [])) or "—"

    @admin.display(description="limits, remaining and today's usage")
    def budget(self, obj: APIKey) -> str:
        if obj.pk is None:
            return "—"
        budget = selectors.key_budget(obj)
        remaining = budget["remaining"]
        rows = [
            ("requests / minute", budget["limits"]["requests_per_minute"], remaining["requests"]),
            ("tokens / minute", budget["limits"]["tokens_per_minute"], remaining["tokens"]),
        ]
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    label,
                    limit,
                    level["remaining"] if level else "—",
                    level["reset"] if level else "",
                )
                for label, limit, level in rows
            ),
        )
        usage = budget["usage_today"]
        return format_html(
            "<table><tr><th>limit</th><th>value</th><th>remaining</th><th>full again in</th></tr>"
            "{}<tr><td>tokens today (UTC)</td><td>{}</td><td>{}</td><td></td></tr></table>"
            "<p>Today: {} requests, {} tokens. Policy: {}.{}</p>",
            body,
            budget["limits"]["daily_token_quota"],
            remaining["daily_tokens"],
            usage["requests"],
            usage["tokens"],
            (budget["policy"] or {}).get("name", "none"),
            " The limiter store is unreachable; figures are nominal." if budget["degraded"] else "",
        )

    @admin.display(description="recent denials")
    def recent_denials(self, obj: APIKey) -> str:
        denials = selectors.denials_of_key(obj, limit=10)
        if not denials:
            return "none"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} — {}: {} {}</li>",
                (
                    (d.created_at.strftime("%Y-%m-%d %H:%M:%S"), d.kind, d.reason, d.action)
                    for d in denials
                ),
            ),
        )

    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        if change:
            services.api_key_update(key=obj, fields=form.changed_data)
            return
        # The plaintext goes into this request only, for response_add to show once.
        request._guardian_plaintext = services.api_key_issue(key=obj, by=request.user)

    def response_add(
        self, request: HttpRequest, obj: APIKey, post_url_continue: Any = None
    ) -> HttpResponse:
        plaintext = getattr(request, "_guardian_plaintext", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/guardian/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "title": "API key created",
                "opts": self.model._meta,
                "key": obj,
                "plaintext": plaintext,
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        revoked = sum(services.api_key_revoke(key=key, by=request.user) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "is_active",
        "requests_per_minute",
        "tokens_per_minute",
        "daily_token_quota",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        services.tenant_save(tenant=obj)


@admin.register(PolicyOverride)
class PolicyOverrideAdmin(admin.ModelAdmin):
    list_display = ("policy", "kill_switch", "note", "updated_at", "updated_by")
    readonly_fields = ("loaded_policy", "reload_requested_at", "updated_by", "updated_at")
    fields = ("policy", "kill_switch", "note", "loaded_policy", "reload_requested_at")
    actions = ["reload_everywhere"]

    @admin.display(description="policy loaded in this process")
    def loaded_policy(self, obj: PolicyOverride | None = None) -> str:
        policy = pdp.current()
        if policy is None:
            return f"none: {pdp.load_error()}"
        summary = policy.summary()
        return format_html(
            "{} ({} mode{}) from {}<br>actions: {}",
            summary["name"],
            summary["mode"],
            ", KILL SWITCH ON" if summary["kill_switch"] else "",
            summary["source"],
            ", ".join(summary["actions"]),
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        policy = pdp.current()
        return {"policy": policy.name if policy else ""}

    def save_model(
        self, request: HttpRequest, obj: PolicyOverride, form: Any, change: bool
    ) -> None:
        saved = services.policy_override_set(
            policy=obj.policy, kill_switch=obj.kill_switch, note=obj.note, by=request.user
        )
        obj.pk = saved.pk

    @admin.action(description="Reload the policy files in every process", permissions=["change"])
    def reload_everywhere(self, request: HttpRequest, queryset: QuerySet[PolicyOverride]) -> None:
        for override in queryset:
            try:
                services.policy_reload_request(policy=override.policy, by=request.user)
            except LukhasError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        pdp.refresh_if_stale(force=True)
        error = pdp.load_error()
        if error:
            self.message_user(
                request, f"Reload failed, the last good policy stays: {error}", messages.ERROR
            )
        else:
            self.message_user(request, "Every process re-reads its policy within a few seconds.")


@admin.register(Denial)
class DenialAdmin(admin.ModelAdmin):
    """The denial audit: read-only, sampled, purged after the retention period."""

    list_display = (
        "created_at",
        "kind",
        "reason",
        "action",
        "enforced",
        "key_prefix",
        "tenant",
        "user",
        "method",
        "route",
        "request_id",
    )
    list_filter = ("kind", "reason", "enforced", "policy")
    search_fields = ("key_prefix", "request_id", "route", "action")
    list_select_related = ("tenant", "user")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Denial | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Denial | None = None) -> bool:
        return False
