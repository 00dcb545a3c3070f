"""Supply-chain collectors: pip-audit, licences (pip-licenses), the SBOM (cyclonedx-py), secrets.

pip-audit asks a vulnerability service on the network; when it cannot be
reached the collector is *unavailable* and its count null, never 0 (OpenSSF
Scorecard's "?"). detect-secrets scans without touching the committed
baseline and only what the baseline does not list counts as new.
"""

from __future__ import annotations

import json
import re

from audits.collectors.base import (
    ERROR,
    FAILED,
    OK,
    UNAVAILABLE,
    CollectorResult,
    FindingData,
    Workspace,
    dist_version,
    run_failure,
    run_tool,
)
from audits.config import ConfigError, load_licence_policy

PIP_AUDIT_METRICS = ("pip_audit.vulnerabilities", "pip_audit.vulnerable_packages")
LICENCES_METRICS = ("licences.violations", "licences.packages")
SBOM_METRICS = ("sbom.components",)
SECRETS_METRICS = ("secrets.new", "secrets.baselined")

# What requests/urllib3 print when the vulnerability service cannot be reached.
_NETWORK_TROUBLE = re.compile(
    r"ConnectionError|ProxyError|MaxRetryError|NewConnectionError|NameResolutionError|"
    r"Temporary failure in name resolution|ConnectTimeout|ReadTimeout|timed out|SSLError"
)


def collect_pip_audit(workspace: Workspace) -> CollectorResult:
    """Known vulnerabilities of the pinned requirements, with ids and fixed versions."""
    config = workspace.config.pip_audit
    result = CollectorResult(
        "pip_audit", OK, tool="pip-audit", tool_version=dist_version("pip-audit")
    )
    if config is None:
        return result.give_up(
            FAILED, "no `pip_audit` section in the lanes config", PIP_AUDIT_METRICS
        )
    pip_audit = workspace.tool("pip-audit")
    if pip_audit is None:
        return result.give_up(UNAVAILABLE, "pip-audit is not installed", PIP_AUDIT_METRICS)
    requirements = workspace.checkout / config.requirements
    if not requirements.exists():
        return result.give_up(ERROR, f"{config.requirements} does not exist", PIP_AUDIT_METRICS)
    argv = [pip_audit, "-r", str(requirements), "--no-deps", "--disable-pip", "--format", "json"]
    argv += ["--progress-spinner", "off", "--cache-dir", str(workspace.workdir / "pip-audit-cache")]
    argv += ["--timeout", "15", *config.args]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "pip-audit"):
        return result.give_up(*failure, PIP_AUDIT_METRICS)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        if _NETWORK_TROUBLE.search(run.stderr):
            return result.give_up(
                UNAVAILABLE,
                "the vulnerability service could not be reached: the count is unknown",
                PIP_AUDIT_METRICS,
            )
        return result.give_up(FAILED, f"pip-audit exited {run.exit_code}", PIP_AUDIT_METRICS)
    vulnerable = 0
    for dependency in report.get("dependencies", []):
        vulns = dependency.get("vulns") or []
        vulnerable += bool(vulns)
        for vuln in vulns:
            result.findings.append(
                FindingData(
                    "pip_audit",
                    vuln.get("id", ""),
                    f"{dependency.get('name')} {dependency.get('version')}: "
                    + (vuln.get("description") or "")[:300],
                    file=config.requirements,
                    severity="high",
                    details={
                        "package": dependency.get("name"),
                        "version": dependency.get("version"),
                        "fix_versions": vuln.get("fix_versions") or [],
                        "aliases": vuln.get("aliases") or [],
                    },
                )
            )
    result.facts = {
        "dependencies": len(report.get("dependencies", [])),
        "vulnerabilities": len(result.findings),
        "vulnerable_packages": vulnerable,
        "skipped": [d.get("name") for d in report.get("dependencies", []) if d.get("skip_reason")],
    }
    result.metrics = {
        "pip_audit.vulnerabilities": len(result.findings),
        "pip_audit.vulnerable_packages": vulnerable,
    }
    return result


def licence_allowed(licence: str, allowed: set[str]) -> bool:
    """SPDX `OR` needs one side allowed, `AND` both; a classifier list ("A; B") one of them."""
    text = licence.strip().splitlines()[0].strip() if licence.strip() else ""
    if not text or text.upper() == "UNKNOWN":
        return False
    if text.lower() in allowed:
        return True
    if ";" in text:
        return any(licence_allowed(part, allowed) for part in text.split(";"))
    stripped = text.strip("() ")
    if re.search(r"\sOR\s", stripped):
        return any(licence_allowed(p, allowed) for p in re.split(r"\s+OR\s+", stripped))
    if re.search(r"\sAND\s", stripped):
        return all(licence_allowed(p, allowed) for p in re.split(r"\s+AND\s+", stripped))
    return stripped.lower() in allowed


def collect_licences(workspace: Workspace) -> CollectorResult:
    """pip-licenses of the codebase's interpreter against the allow-list policy file."""
    config = workspace.config.licences
    result = CollectorResult(
        "licences", OK, tool="pip-licenses", tool_version=dist_version("pip-licenses")
    )
    if config is None:
        return result.give_up(FAILED, "no `licences` section in the lanes config", LICENCES_METRICS)
    try:
        policy = load_licence_policy(workspace.config_dir / config.policy)
    except ConfigError as exc:
        return result.give_up(ERROR, str(exc), LICENCES_METRICS)
    pip_licenses = workspace.tool("pip-licenses")
    if pip_licenses is None:
        return result.give_up(UNAVAILABLE, "pip-licenses is not installed", LICENCES_METRICS)
    argv = [pip_licenses, "--format=json", "--from=mixed"]
    argv += [f"--python={workspace.config.python or workspace.python}"]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "pip-licenses"):
        return result.give_up(*failure, LICENCES_METRICS)
    try:
        packages = json.loads(run.stdout)
    except json.JSONDecodeError:
        return result.give_up(FAILED, f"pip-licenses exited {run.exit_code}", LICENCES_METRICS)
    allowed = {name.lower() for name in policy.allowed}
    exceptions = {name.lower(): why for name, why in policy.exceptions.items()}
    by_licence: dict[str, int] = {}
    excepted = []
    for package in packages:
        licence = (package.get("License") or "UNKNOWN").strip().splitlines()[0][:200]
        by_licence[licence] = by_licence.get(licence, 0) + 1
        name = package.get("Name", "")
        if licence_allowed(licence, allowed):
            continue
        if name.lower() in exceptions:
            excepted.append({"package": name, "licence": licence, "why": exceptions[name.lower()]})
            continue
        result.findings.append(
            FindingData(
                "licences",
                licence,
                f"{name} {package.get('Version', '')} is licensed {licence!r}, not in the policy",
                file=str(config.policy),
                severity="medium",
                details={"package": name, "version": package.get("Version")},
            )
        )
    result.facts = {
        "packages": len(packages),
        "violations": len(result.findings),
        "by_licence": dict(sorted(by_licence.items(), key=lambda kv: (-kv[1], kv[0]))),
        "exceptions": excepted,
        "policy_version": policy.version,
    }
    result.metrics = {
        "licences.violations": len(result.findings),
        "licences.packages": len(packages),
    }
    return result


def collect_sbom(workspace: Workspace) -> CollectorResult:
    """A CycloneDX JSON SBOM of the environment (or a requirements file), kept as an artifact."""
    config = workspace.config.sbom
    result = CollectorResult(
        "sbom", OK, tool="cyclonedx-py", tool_version=dist_version("cyclonedx-bom")
    )
    cyclonedx = workspace.tool("cyclonedx-py")
    if cyclonedx is None:
        return result.give_up(UNAVAILABLE, "cyclonedx-py is not installed", SBOM_METRICS)
    output = workspace.workdir / "sbom.cdx.json"
    output.unlink(missing_ok=True)
    if config.source == "requirements":
        argv = [cyclonedx, "requirements", str(workspace.checkout / config.requirements)]
    else:
        argv = [cyclonedx, "environment", workspace.config.python or workspace.python]
    argv += ["--of", "JSON", "-o", str(output)]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "cyclonedx-py"):
        return result.give_up(*failure, SBOM_METRICS)
    try:
        bom = json.loads(output.read_text())
    except (OSError, json.JSONDecodeError):
        return result.give_up(FAILED, f"cyclonedx-py exited {run.exit_code}, no SBOM", SBOM_METRICS)
    components = len(bom.get("components", []))
    result.facts = {
        "components": components,
        "spec_version": bom.get("specVersion"),
        "format": bom.get("bomFormat"),
    }
    result.metrics = {"sbom.components": components}
    result.artifacts = {"sbom": str(output)}
    return result


def _secret_keys(results: dict) -> set[tuple[str, str, str]]:
    return {
        (filename, item.get("hashed_secret", ""), item.get("type", ""))
        for filename, items in results.items()
        for item in items
    }


def collect_secrets(workspace: Workspace) -> CollectorResult:
    """detect-secrets over the checkout; what the committed baseline lists is not new."""
    config = workspace.config.secrets
    result = CollectorResult(
        "secrets", OK, tool="detect-secrets", tool_version=dist_version("detect-secrets")
    )
    if config is None:
        return result.give_up(FAILED, "no `secrets` section in the lanes config", SECRETS_METRICS)
    detect = workspace.tool("detect-secrets")
    if detect is None:
        return result.give_up(UNAVAILABLE, "detect-secrets is not installed", SECRETS_METRICS)
    baseline_path = workspace.checkout / config.baseline
    try:
        baseline = json.loads(baseline_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return result.give_up(ERROR, f"{config.baseline}: {exc}", SECRETS_METRICS)
    argv = [detect, "scan"]
    if config.all_files:
        argv.append("--all-files")
    argv += ["--exclude-files", re.escape(config.baseline) + "$"]
    argv += ["--exclude-files", r"(^|/)(\.ruff_cache|__pycache__|\.pytest_cache|\.venv|var)/"]
    if config.exclude_files:
        argv += ["--exclude-files", config.exclude_files]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "detect-secrets"):
        return result.give_up(*failure, SECRETS_METRICS)
    try:
        found = json.loads(run.stdout).get("results", {})
    except json.JSONDecodeError:
        return result.give_up(FAILED, f"detect-secrets exited {run.exit_code}", SECRETS_METRICS)
    known = _secret_keys(baseline.get("results", {}))
    baselined = 0
    for filename, items in sorted(found.items()):
        for item in items:
            if (filename, item.get("hashed_secret", ""), item.get("type", "")) in known:
                baselined += 1
                continue
            result.findings.append(
                FindingData(
                    "secrets",
                    item.get("type", ""),
                    f"{item.get('type')} not in {config.baseline}",
                    file=filename,
                    line=item.get("line_number"),
                    severity="critical",
                    lane=workspace.config.lane_of(filename),
                    # The hash, never the secret: the row is shown on pages.
                    key=item.get("hashed_secret", ""),
                )
            )
    result.facts = {"new": len(result.findings), "baselined": baselined}
    result.metrics = {"secrets.new": len(result.findings), "secrets.baselined": baselined}
    return result
