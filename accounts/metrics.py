"""The sign-in collector (one label, three values: success, failure, locked_out)."""

from __future__ import annotations

from prometheus_client import Counter

OUTCOMES = ("success", "failure", "locked_out")

login_attempts_total = Counter(
    "lukhas_login_attempts_total",
    "Sign-in attempts (password, admin and single sign-on), by outcome: success, failure "
    "(wrong password, refused account) or locked_out (refused before any check).",
    ["outcome"],
)
for _outcome in OUTCOMES:
    # Every series exists from the start, so rate() and the alert see a 0, not no data.
    login_attempts_total.labels(outcome=_outcome)
