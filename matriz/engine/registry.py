"""Plugin registry: names to objects, filled by hand or from entry points.

This is the only module allowed to import code by name
(``importlib.import_module``); everything else asks the registry with
:func:`resolve`, so which code can be loaded dynamically stays visible in one
place (tests/matriz/engine/test_import_discipline.py walks the tree to prove it).

Discovery reads the entry-point groups below and registers each plugin under
its kind's prefix (``node:memory.recall``). Instantiation is constructor-aware
and the path taken is logged and kept for :meth:`Registry.describe`:

``factory_method``    the class has a ``from_config`` / ``create`` classmethod;
``constructor``       the constructor's signature is satisfied by the config;
``class_as_factory``  it is not (a required argument such as a store is
                      missing), so the class itself is registered and the
                      caller builds it with what it has;
``instance``          the entry point names an object, not a class.

A plugin that fails to import or to construct is recorded with its error and
discovery goes on: one broken package must not take the pipeline down.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import EntryPoint, entry_points
from typing import Any

log = logging.getLogger(__name__)

ENTRY_POINT_GROUPS: Mapping[str, str] = {
    "lukhas.cognitive_nodes": "node",
    "lukhas.constellation_components": "constellation",
    "lukhas.adapters": "adapter",
    "lukhas.monitoring": "monitor",
}
FACTORY_METHOD_NAMES = ("from_config", "create")


class FactoryPath(StrEnum):
    FACTORY_METHOD = "factory_method"
    CONSTRUCTOR = "constructor"
    CLASS_AS_FACTORY = "class_as_factory"
    INSTANCE = "instance"


class RegistryError(Exception):
    pass


class PluginNotFoundError(RegistryError, LookupError):
    pass


class PluginUnavailableError(RegistryError, LookupError):
    """The name is known but its plugin failed to load."""


class DuplicatePluginError(RegistryError, ValueError):
    pass


@dataclass(slots=True)
class PluginRecord:
    name: str
    kind: str
    target: str
    obj: Any = None
    factory_path: FactoryPath | None = None
    error: str | None = None
    distribution: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "target": self.target,
            "factory_path": self.factory_path.value if self.factory_path else None,
            "error": self.error,
        }


def _describe_target(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}:{qualname}"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def load_target(spec: str) -> Any:
    """Import ``"package.module:attr.path"`` and return the attribute."""
    module_name, _, attr_path = spec.partition(":")
    if not module_name:
        raise ValueError(f"not a 'module:attr' target: {spec!r}")
    obj = importlib.import_module(module_name)
    for attr in filter(None, attr_path.split(".")):
        obj = getattr(obj, attr)
    return obj


def instantiate(target: Any, config: Mapping[str, Any] | None = None) -> tuple[Any, FactoryPath]:
    """Turn what an entry point loaded into the object to register, and say how.

    Raises whatever the factory or constructor raises (the plugin is broken);
    an unsatisfiable constructor is not an error — the class is the factory.
    """
    config = dict(config or {})
    if not inspect.isclass(target):
        return target, FactoryPath.INSTANCE
    for method_name in FACTORY_METHOD_NAMES:
        raw = inspect.getattr_static(target, method_name, None)
        if isinstance(raw, classmethod | staticmethod):
            factory = getattr(target, method_name)
            return _call_factory(factory, config), FactoryPath.FACTORY_METHOD
    kwargs = _constructor_kwargs(target, config)
    if kwargs is not None:
        return target(**kwargs), FactoryPath.CONSTRUCTOR
    return target, FactoryPath.CLASS_AS_FACTORY


def _call_factory(factory: Any, config: dict[str, Any]) -> Any:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(config)
    try:
        signature.bind(config)
    except TypeError:
        signature.bind()  # no way to call it: let the TypeError say so
        return factory()
    return factory(config)


def _constructor_kwargs(cls: type, config: dict[str, Any]) -> dict[str, Any] | None:
    """Keyword arguments from ``config`` that satisfy ``cls``'s constructor, or None."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # some builtins and C types have none
        return None
    params = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    by_name = {
        name
        for name, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    kwargs = {k: v for k, v in config.items() if takes_any or k in by_name}
    ignored = sorted(set(config) - set(kwargs))
    try:
        signature.bind(**kwargs)
    except TypeError:
        return None
    if ignored:
        log.warning("config keys %s not accepted by %s", ignored, _describe_target(cls))
    return kwargs


class Registry:
    """Thread-safe map of plugin names to objects, with how each got there."""

    def __init__(self) -> None:
        self._records: dict[str, PluginRecord] = {}
        self._rejected: list[PluginRecord] = []
        self._lock = threading.RLock()

    def __contains__(self, name: object) -> bool:
        record = self._records.get(name) if isinstance(name, str) else None
        return record is not None and record.ok

    def __len__(self) -> int:
        return sum(record.ok for record in self._records.values())

    def register(self, name: str, obj: Any, *, replace: bool = False) -> None:
        """Register ``obj`` under ``name`` (``kind:short``) as is; no instantiation."""
        kind = name.partition(":")[0] if ":" in name else "other"
        path = FactoryPath.CLASS_AS_FACTORY if inspect.isclass(obj) else FactoryPath.INSTANCE
        self._put(PluginRecord(name, kind, _describe_target(obj), obj, path), replace=replace)

    def register_target(
        self, name: str, target: str, *, config: Mapping[str, Any] | None = None
    ) -> PluginRecord:
        """Register from a ``"module:attr"`` string (e.g. from settings), like discovery does."""
        kind = name.partition(":")[0] if ":" in name else "other"
        record = PluginRecord(name, kind, target)
        self._load_into(record, lambda: load_target(target), config)
        self._put(record, replace=True)
        return record

    def unregister(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._rejected.clear()

    def resolve(self, name: str) -> Any:
        """The registered object; raises a LookupError saying why if there is none."""
        record = self._records.get(name)
        if record is None:
            close = difflib.get_close_matches(name, list(self._records), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise PluginNotFoundError(f"no plugin registered as {name!r}{hint}")
        if record.error is not None:
            raise PluginUnavailableError(f"plugin {name!r} failed to load: {record.error}")
        return record.obj

    def get(self, name: str, default: Any = None) -> Any:
        record = self._records.get(name)
        return record.obj if record is not None and record.ok else default

    def names(self, prefix: str | None = None) -> list[str]:
        """Names of working plugins, optionally of one kind (``"node:"``)."""
        return sorted(
            name
            for name, record in self._records.items()
            if record.ok and (prefix is None or name.startswith(prefix))
        )

    def record(self, name: str) -> PluginRecord:
        return self._records[name]

    def describe(self) -> list[dict[str, Any]]:
        """Every plugin, loaded or broken, for ops (``/system/plugins``)."""
        with self._lock:
            records = sorted(self._records.values(), key=lambda r: r.name)
            return [r.to_dict() for r in records] + [r.to_dict() for r in self._rejected]

    def auto_discover(
        self,
        groups: Mapping[str, str] | None = None,
        *,
        config: Mapping[str, Mapping[str, Any]] | None = None,
        eps: Iterable[tuple[str, EntryPoint]] | None = None,
    ) -> list[PluginRecord]:
        """Load every entry point of ``groups``; returns the records of this pass.

        ``config`` maps a full plugin name to the keyword arguments its factory
        or constructor may use. ``eps`` replaces the installed entry points
        ((group, entry point) pairs) for callers that already have them.
        Re-running is cheap: a plugin already loaded from the same target is kept.
        """
        groups = dict(groups or ENTRY_POINT_GROUPS)
        config = config or {}
        if eps is None:
            eps = [(group, ep) for group in groups for ep in entry_points(group=group)]
        seen: list[PluginRecord] = []
        for group, ep in eps:
            prefix = groups.get(group)
            if prefix is None:
                continue
            name = f"{prefix}:{ep.name}"
            distribution = ep.dist.name if ep.dist is not None else None
            with self._lock:
                current = self._records.get(name)
                if current is not None and current.target == ep.value and current.ok:
                    seen.append(current)
                    continue
                record = PluginRecord(name, prefix, ep.value, distribution=distribution)
                if current is not None and current.target != ep.value and current.ok:
                    record.error = f"duplicate name: already provided by {current.target}"
                    if not any(
                        (r.name, r.target) == (name, ep.value) for r in self._rejected
                    ):  # reported once, however often discovery runs
                        log.error("plugin %s from %s rejected: %s", name, ep.value, record.error)
                        self._rejected.append(record)
                    seen.append(record)
                    continue
            self._load_into(record, ep.load, config.get(name))
            with self._lock:
                self._records[name] = record
            seen.append(record)
        return seen

    def _load_into(self, record: PluginRecord, load: Any, config: Mapping[str, Any] | None) -> None:
        try:
            loaded = load()
        except Exception as exc:
            record.error = _error_text(exc)
            log.exception("plugin %s (%s) failed to import", record.name, record.target)
            return
        try:
            record.obj, record.factory_path = instantiate(loaded, config)
        except Exception as exc:
            record.error = _error_text(exc)
            record.factory_path = _intended_path(loaded)
            log.exception("plugin %s (%s) failed to instantiate", record.name, record.target)
            return
        log.info(
            "plugin %s registered from %s via %s",
            record.name,
            record.target,
            record.factory_path.value,
        )

    def _put(self, record: PluginRecord, *, replace: bool) -> None:
        with self._lock:
            current = self._records.get(record.name)
            if current is not None and current.ok and not replace:
                raise DuplicatePluginError(f"{record.name!r} is already registered")
            self._records[record.name] = record


def _intended_path(loaded: Any) -> FactoryPath:
    """Which path raised, for the report: the one instantiate() would take."""
    if not inspect.isclass(loaded):
        return FactoryPath.INSTANCE
    for method_name in FACTORY_METHOD_NAMES:
        if isinstance(
            inspect.getattr_static(loaded, method_name, None), classmethod | staticmethod
        ):
            return FactoryPath.FACTORY_METHOD
    return FactoryPath.CONSTRUCTOR


default_registry = Registry()


def register(name: str, obj: Any, *, replace: bool = False) -> None:
    default_registry.register(name, obj, replace=replace)


def resolve(name: str) -> Any:
    return default_registry.resolve(name)


def auto_discover(
    groups: Mapping[str, str] | None = None,
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[PluginRecord]:
    return default_registry.auto_discover(groups, config=config)


def describe() -> list[dict[str, Any]]:
    return default_registry.describe()
