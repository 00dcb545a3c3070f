"""The soak page's forms: they validate the input; the services decide."""

from __future__ import annotations

from django import forms


class StartForm(forms.Form):
    release = forms.CharField(max_length=100, initial="v0.9.0-rc")
    planned_hours = forms.IntegerField(min_value=1, max_value=720, initial=48, label="Hours")
    target_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="http",  # a loopback target is plain http
        label="Target",
        help_text="Empty: this site itself",
    )


class AbortForm(forms.Form):
    reason = forms.CharField(max_length=2000)


class PromoteForm(forms.Form):
    approve_inconclusive = forms.CharField(
        required=False,
        max_length=2000,
        label="Inconclusive gates may pass because",
        help_text="Needed only when a blocking gate is inconclusive; recorded on the gates.",
    )
    tag = forms.BooleanField(required=False, label="Tag v<version> in LUKHAS_RELEASE_REPO")


class DecideForm(forms.Form):
    reason = forms.CharField(max_length=2000, label="Why the inconclusive gates may pass")
