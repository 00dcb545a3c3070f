"""The codebase health pages: the latest report per codebase with its gate badge, trends,
facts linked to their findings, the diff, and the run-audit button (a job)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import HealthReport
from jobs.models import Job
from tests.audits.reports import fixture_codebase, grant_run, make_report

pytestmark = pytest.mark.django_db

RUFF = [
    ("E501", "production", "fixprod/util.py", 3),
    ("E501", "production", "fixprod/core/engine.py", 9),
    ("F401", "labs", "fixlabs/experimental.py", 1),
]


@pytest.fixture
def history():
    codebase = fixture_codebase()
    now = timezone.now()
    old = make_report(
        codebase,
        status="error",
        started_at=now - timedelta(days=1),
        facts={"smoke.pass_percent": 50.0, "ruff.production": 5, "coverage.percent": None},
        ruff=[*RUFF, ("E711", "production", "fixprod/warn.py", 2)],
    )
    new = make_report(
        codebase,
        status="ok",
        started_at=now,
        facts={"smoke.pass_percent": 75.0, "ruff.production": 2, "coverage.percent": None},
        ruff=RUFF,
    )
    return old, new


def test_it_needs_a_login(client):
    response = client.get(reverse("audits"))
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"]


def test_it_shows_the_latest_report_with_its_gate_badge_and_trends(
    alice_client, history, django_assert_num_queries
):
    _, new = history
    alice_client.get(reverse("audits"))  # Guardian re-reads its policy when due, not each time
    # session, user, latest reports, running reports, codebases, the codebase's history,
    # alice's permissions (user, group) for the run button
    with django_assert_num_queries(8):
        html = alice_client.get(reverse("audits")).content.decode()
    assert f'href="/audits/reports/{new.pk}/"' in html
    assert '<span class="badge ok" data-gate-badge>gate OK</span>' in html
    assert "2 reports in the trends" in html
    figures = dict(
        re.findall(r'<script type="application/json" id="fig-fixture-(\w+)">(.*?)</script>', html)
    )
    assert sorted(figures) == ["coverage", "ruff", "smoke", "vulnerabilities"]
    smoke = json.loads(figures["smoke"])
    assert smoke["data"][0]["y"] == [50.0, 75.0]
    coverage = json.loads(figures["coverage"])
    assert coverage["data"][0]["y"] == [None, None]  # unknown is a gap, never 0
    assert '<span class="muted">unknown</span>' in html


def test_it_links_every_number_to_its_findings(alice_client, history):
    _, new = history
    html = alice_client.get(reverse("audits-report", args=[new.pk])).content.decode()
    findings = reverse("audits-findings", args=[new.pk])
    assert f'<a href="{findings}?collector=ruff&amp;rule=E501">2</a>' in html
    assert f'<a href="{findings}?collector=ruff&amp;lane=labs">1</a>' in html
    assert f'<a href="{findings}?collector=ruff">3</a>' in html  # the total
    page = alice_client.get(f"{findings}?collector=ruff&rule=E501").content.decode()
    assert "2 findings." in page
    assert "fixprod/util.py:3" in page and "fixlabs/experimental.py" not in page


def test_it_shows_the_gate_and_the_diff_against_the_previous_report(alice_client, history):
    old, new = history
    html = alice_client.get(reverse("audits-report", args=[new.pk])).content.decode()
    assert '<span class="badge ok" data-gate-badge>gate OK</span>' in html
    assert f'(<a href="/audits/reports/{old.pk}/">#{old.pk}</a>)' in html
    assert re.search(r"<code>ruff.production</code></td><td>5</td><td>2</td><td>-3</td>", html)
    assert "0 new findings, 1 fixed." in html
    assert "fixprod/warn.py:2" in html
    assert 'pip_audit</strong> <span class="badge warn">unavailable' in html


def test_it_pins_the_queries_of_the_findings_page(alice_client, history, django_assert_num_queries):
    _, new = history
    url = reverse("audits-findings", args=[new.pk])
    alice_client.get(url)  # Guardian re-reads its policy when due, not each time
    with django_assert_num_queries(5):  # session, user, report, count, page
        response = alice_client.get(url)
    assert response.status_code == 200


def test_it_hides_the_run_button_without_the_permission(alice_client, history):
    html = alice_client.get(reverse("audits")).content.decode()
    assert "data-run-audit" not in html
    response = alice_client.post(reverse("audits-run", args=["fixture"]))
    assert response.status_code == 403
    assert "audits.add_healthreport" in response.content.decode()
    assert not Job.objects.exists()


def test_it_starts_an_audit_job_and_shows_its_progress(alice, alice_client, history):
    grant_run(alice)
    assert "data-run-audit" in alice_client.get(reverse("audits")).content.decode()
    response = alice_client.post(reverse("audits-run", args=["fixture"]))
    report = HealthReport.objects.get(finished_at__isnull=True)
    assert response.status_code == 302
    assert response["Location"] == reverse("audits-report", args=[report.pk])
    job = Job.objects.get()
    assert (job.kind, report.job_id) == ("health-audit", job.pk)
    html = alice_client.get(response["Location"]).content.decode()
    assert f'data-progress-url="/jobs/{job.pk}/progress"' in html
    assert "data-audit-running" in html
    index = alice_client.get(reverse("audits")).content.decode()
    assert f"An audit is running (report #{report.pk})" in index


def test_it_shows_the_gate_status_on_the_overview(alice_client, history):
    html = alice_client.get(reverse("overview")).content.decode()
    section = html[html.index("data-gate-status") :]
    assert '<span class="badge ok" data-gate-badge>gate OK</span>' in section
    assert ">fixture</a>" in section


def test_it_keeps_service_and_codebase_health_findable(alice_client):
    html = alice_client.get(reverse("health")).content.decode()
    assert ">Service health</a>" in html and ">Codebase health</a>" in html
    assert 'href="/audits/"' in html


def test_it_shows_the_promotion_criteria_of_each_production_module(alice_client, history):
    html = alice_client.get(reverse("audits-lanes", args=["fixture"])).content.decode()
    row = html[html.index('data-module="fixprod"') :]
    row = row[: row.index("</tr>")]
    assert re.search(r'data-criterion="cross-lane imports"><span class="badge fail">fail', row)
    assert "fixprod.core.engine → fixlabs.experimental" in row
    assert re.search(r'data-criterion="coverage"><span class="badge warn">unknown', row)
    assert re.search(r'data-criterion="p95"><span class="badge warn">unknown', row)
    assert "<code>fixlabs/</code>" in html
