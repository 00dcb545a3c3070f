"""Agents (found by any spelling a plan uses) and tracks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from coordination.models import Agent, AgentAlias, AgentKind, Track
from coordination.plan_parser import normalize_agent_name
from lukhas_site.errors import Conflict, InvalidRequest

# Canonical names for the alias keys of plan_parser.normalize_agent_name, so the
# first import names "CODEX" and "@codex" alike "Codex". Edit agents in the admin.
DEFAULT_AGENTS: dict[str, tuple[str, str, str]] = {
    "codex": ("Codex", AgentKind.CODING_AGENT, "executor"),
    "copilot": ("Copilot", AgentKind.CODING_AGENT, "executor"),
    "claude code": ("Claude Code", AgentKind.CODING_AGENT, "coordinator, reviewer"),
    "claude": ("Claude", AgentKind.CODING_AGENT, ""),
    "jules": ("Jules", AgentKind.CODING_AGENT, "devops, observability"),
    "gemini": ("Gemini", AgentKind.CODING_AGENT, ""),
    "chatgpt": ("ChatGPT", AgentKind.CODING_AGENT, ""),
}


# --------------------------------------------------------------------------- agents and tracks


@dataclass
class AgentResolution:
    agent: Agent | None
    created: bool
    written: str


def agent_resolve(name: str, *, create: bool = True) -> AgentResolution:
    """The agent a plan's spelling names ('@codex', 'ChatGPT CODEX' -> Codex), via aliases.

    An unknown name becomes a new agent (with its normalised spelling as alias) when
    ``create``; the caller reports it.
    """
    written = (name or "").strip()
    key = normalize_agent_name(written)
    if not key:
        return AgentResolution(None, False, written)
    alias = AgentAlias.objects.select_related("agent").filter(normalized=key).first()
    if alias is not None:
        return AgentResolution(alias.agent, False, written)
    by_name = Agent.objects.filter(name__iexact=written).first()
    if by_name is not None:
        AgentAlias.objects.create(agent=by_name, alias=written)
        return AgentResolution(by_name, False, written)
    if not create:
        return AgentResolution(None, False, written)
    display, kind, role = DEFAULT_AGENTS.get(key, (written.lstrip("@"), AgentKind.PERSON, ""))
    agent = agent_create(name=display, kind=kind, role=role, aliases=[written])
    return AgentResolution(agent, True, written)


def agent_create(
    *, name: str, kind: str = AgentKind.CODING_AGENT, role: str = "", aliases: Iterable[str] = ()
) -> Agent:
    name = (name or "").strip()
    if not name:
        raise InvalidRequest("An agent needs a name.", param="name")
    with transaction.atomic():
        if Agent.objects.filter(name__iexact=name).exists():
            raise Conflict(f"An agent called {name!r} exists already.", param="name")
        agent = Agent.objects.create(name=name, kind=kind, role=role)
        seen: set[str] = set()
        for spelling in [name, *aliases]:
            key = normalize_agent_name(spelling)
            if not key or key in seen:
                continue
            seen.add(key)
            clash = AgentAlias.objects.filter(normalized=key).select_related("agent").first()
            if clash is not None:
                raise Conflict(f"{spelling!r} already names {clash.agent.name}.", param="aliases")
            AgentAlias.objects.create(agent=agent, alias=spelling)
    return agent


def track_get_or_create(name: str, *, position: int = 0) -> tuple[Track | None, bool]:
    name = (name or "").strip()[:200]
    if not name:
        return None, False
    track = Track.objects.filter(name=name).first()
    if track is not None:
        return track, False
    return Track.objects.create(name=name, position=position), True
