"""Every alert links a runbook that exists, down to the section it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from lukhas_site import slo
from tests.services import REPO

RULES = REPO / "ops" / "prometheus" / "rules"
RUNBOOKS = REPO / "docs" / "runbooks"
METRIC = re.compile(r"\b((?:lukhas|matriz)_[a-z0-9_]+)")


def _alerts() -> list[dict]:
    found = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend(rule for rule in group["rules"] if "alert" in rule)
    return found


def github_slug(heading: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped (not - or _), spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of each heading, as a Markdown parser sees them (not # in code)."""
    tokens = MarkdownIt().parse(path.read_text(encoding="utf-8"))
    return [
        (int(token.tag[1]), tokens[i + 1].content)
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    ]


def test_it_slugs_headings_as_github_does():
    assert github_slug("Page: fast burn") == "page-fast-burn"
    assert github_slug("1. Which kind of burst is it?") == "1-which-kind-of-burst-is-it"
    assert github_slug("Ticket: slow burn") == "ticket-slow-burn"


@pytest.mark.parametrize(
    "alert", _alerts(), ids=lambda a: f"{a['alert']}-{a['labels']['severity']}"
)
def test_it_links_every_alert_to_an_existing_runbook_section(alert):
    url = alert["annotations"].get("runbook_url")
    assert url, f"{alert['alert']} has no runbook_url"
    path, _, anchor = url.partition("#")
    assert path == f"docs/runbooks/{alert['alert']}.md"
    runbook = REPO / path
    assert runbook.is_file(), f"{alert['alert']}: {path} does not exist"
    if anchor:
        slugs = [github_slug(text) for _, text in _headings(runbook)]
        assert anchor in slugs, f"{url}: no heading with that anchor in {slugs}"


@pytest.mark.parametrize("path", sorted(RUNBOOKS.glob("*.md")), ids=lambda p: p.stem)
def test_it_writes_runbooks_that_say_what_to_check_and_do(path):
    alerts = {a["alert"] for a in _alerts()}
    assert path.stem in alerts, f"{path.name} is the runbook of no alert"
    if path.stem == "LukhasLoginFailureBurst":
        return  # the first runbook, numbered by question rather than in these sections
    text = path.read_text(encoding="utf-8")
    titles = [t for level, t in _headings(path) if level == 2]
    assert "First three checks" in titles and "Mitigate" in titles, titles
    checks = text.split("## First three checks", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^[123]\. ", checks, flags=re.M) == ["1. ", "2. ", "3. "]
    for alert in (a for a in _alerts() if a["alert"] == path.stem):
        # SLO alerts read slo:* records: their SLI's metrics are checked below.
        read = set(METRIC.findall(alert["expr"])) | ({"up{"} if "up{" in alert["expr"] else set())
        for metric in read:
            base = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert base in text, f"{path.name} never names {base}, which the alert reads"


@pytest.mark.parametrize("objective", slo.load_slos().slos, ids=lambda s: s.sloth_id)
def test_it_writes_slo_runbooks_about_their_own_sli(objective):
    """One runbook per SLO, with a section per alert, naming that SLO's own metrics."""
    runbook = REPO / objective.runbook
    text = runbook.read_text(encoding="utf-8")
    slugs = [github_slug(t) for _, t in _headings(runbook)]
    for _conditions, anchor in slo.BURN_ALERTS.values():
        assert anchor in slugs
    assert f'sloth_id="{objective.sloth_id}"' in text
    for metric in set(METRIC.findall(objective.sli.error_query)):
        base = re.sub(r"_(bucket|count|sum)$", "", metric)
        assert base in text, f"{runbook.name} never names {base}"
