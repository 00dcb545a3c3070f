"""The audits admin: every model listed, filtered and searched; the records read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audits.models import Finding, HealthReport
from jobs.models import Job
from tests.audits.reports import fixture_codebase, make_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    return make_report(
        fixture_codebase(),
        facts={"ruff.production": 1},
        ruff=[("E501", "production", "fixprod/util.py", 3), ("F401", "labs", "fixlabs/x.py", 1)],
    )


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("codebase", "?q=fixture"),
        ("healthreport", "?status__exact=ok&q=fixture"),
        ("collectorrun", "?collector=ruff&q=ruff"),
        ("finding", "?collector=ruff&lane=production&q=E501"),
    ],
)
def test_it_lists_filters_and_searches_every_model(bob_client, report, model, query):
    response = bob_client.get(reverse(f"admin:audits_{model}_changelist") + query)
    assert response.status_code == 200
    html = response.content.decode()
    assert "0 results" not in html and "0 total" not in html


def test_it_narrows_findings_by_lane(bob_client, report):
    html = bob_client.get(
        reverse("admin:audits_finding_changelist") + "?lane=labs"
    ).content.decode()
    labs = Finding.objects.get(lane="labs")
    production = Finding.objects.get(lane="production")
    assert reverse("admin:audits_finding_change", args=[labs.pk]) in html
    assert reverse("admin:audits_finding_change", args=[production.pk]) not in html


def test_it_keeps_reports_read_only(bob_client, report):
    page = bob_client.get(reverse("admin:audits_healthreport_change", args=[report.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert bob_client.get(reverse("admin:audits_healthreport_add")).status_code == 403


def test_it_runs_an_audit_from_the_codebase_list(bob_client, report):
    response = bob_client.post(
        reverse("admin:audits_codebase_changelist"),
        {"action": "run_audit", "_selected_action": [report.codebase_id]},
        follow=True,
    )
    assert response.status_code == 200
    job = Job.objects.get()
    started = HealthReport.objects.get(job=job)
    html = response.content.decode()  # the admin capitalises its messages
    assert f"Fixture: audit started (report #{started.pk}, job {job.pk})" in html
