"""Registries: every kind of component rankwise can build by name.

One :class:`Registry` per kind (losses, models, optimizers, metrics, fusion methods, ...);
:func:`registries` returns all of them, keyed by kind, and :func:`build` turns a spec —
``"name"`` or ``{"name": ..., "params": {...}}``, the form a YAML config uses — into the
component. A spec's ``params`` are checked against the target's signature before anything
is built, so a misspelt or unknown parameter fails with a :class:`RegistryError` that names
it, suggests the closest allowed name and lists the allowed ones.

Two kinds of entries:

- *factories* (classes and functions that make an object: a loss module, a model, an
  optimizer): ``build`` calls them with the spec's ``params`` plus what the caller
  ``supplied`` (a model's ``num_features``, an optimizer's ``params``);
- *functions called per use* (a metric, a lambda weighting, a normalization): the
  registry names their ``per_call`` arguments, and ``build`` returns the function with the
  spec's ``params`` bound (:func:`functools.partial`).

Example:
    >>> from rankwise.registry import build, registries
    >>> "loss" in registries() and "metric" in registries()
    True
    >>> build("loss", {"name": "listmle"})
    ListMLELoss(reduction='mean')
    >>> build("loss", {"name": "neural_ndcg", "params": {"temprature": 1.0}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rankwise.errors.RegistryError: params: unknown parameter 'temprature' ... 'temperature'?)...
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from rankwise.errors import RegistryError

T = TypeVar("T")

# Modules that define registries; :func:`registries` imports them so that every kind is
# present whichever of them the caller happened to import first.
_DEFINING_MODULES = (
    "rankwise.losses",
    "rankwise.models",
    "rankwise.metrics.spec",
    "rankwise.data.transforms",
    "rankwise.functional._losses.lambda_weights",
    "rankwise.aggregate",
    "rankwise.text.models",
    "rankwise.train.build",
)
_REGISTRIES: dict[str, Registry[Any]] = {}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def signature_parameters(
    target: Callable[..., Any], skip: Iterable[str] = ()
) -> dict[str, inspect.Parameter]:
    """The named parameters of ``target`` (for a class: of its constructor, or its
    ``__signature__``) except ``*args``/``**kwargs`` and ``skip``."""
    skipped = set(skip)
    return {
        k: p
        for k, p in inspect.signature(target).parameters.items()
        if k not in skipped and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def keyword_only_parameters(
    fn: Callable[..., Any], per_call: Iterable[str] = ()
) -> dict[str, inspect.Parameter]:
    """A function's keyword-only parameters except the ``per_call`` ones: the
    hyper-parameters a loss module stores."""
    named = signature_parameters(fn, per_call)
    return {k: p for k, p in named.items() if p.kind == inspect.Parameter.KEYWORD_ONLY}


def check_params(
    owner: str,
    allowed: Mapping[str, inspect.Parameter],
    params: Mapping[str, Any],
    *,
    where: str = "params",
    supplied: Iterable[str] = (),
) -> None:
    """Raise :class:`RegistryError` if ``params`` has a key not in ``allowed``, or misses a
    required one (other than ``supplied``, which the builder passes)."""
    for key in params:
        if key not in allowed:
            raise RegistryError(
                f"{where}: unknown parameter {key!r} for {owner}{did_you_mean(str(key), allowed)}"
                f"; allowed: {', '.join(sorted(allowed)) or '(none)'}"
            )
    given = set(params) | set(supplied)
    missing = [k for k, p in allowed.items() if p.default is p.empty and k not in given]
    if missing:
        raise RegistryError(f"{where}: {owner} needs parameter(s) {', '.join(missing)}")


def parse_spec(spec: str | Mapping[str, Any], where: str = "") -> tuple[str, dict[str, Any]]:
    """``(name, params)`` of ``"name"`` or ``{"name": ..., "params": {...}}``."""
    prefix = f"{where}." if where else ""
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, Mapping):
        raise RegistryError(f"{where or 'spec'}: expected a name or {{name, params}}, got {spec!r}")
    unknown = sorted(set(spec) - {"name", "params"})
    if unknown:
        raise RegistryError(
            f"{prefix}{unknown[0]}: unknown key{did_you_mean(str(unknown[0]), ['name', 'params'])}"
            "; a component is {name, params}"
        )
    name = spec.get("name")
    if not isinstance(name, str):
        raise RegistryError(f"{prefix}name: a component needs a name, got {name!r}")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise RegistryError(f"{prefix}params: expected a mapping, got {params!r}")
    return name, dict(params)


class Registry(Generic[T]):
    """Named components of one kind (module docstring).

    Args:
        kind: the kind's name, the key of :func:`registries` (``"loss"``, ``"model"``).
        supplied: parameters the builder passes itself (e.g. ``num_features``); a spec
            may not set them.
        per_call: for registries of functions called per use, the arguments of each call;
            :meth:`build` then binds the spec's parameters instead of calling the entry.
    """

    def __init__(
        self, kind: str, *, supplied: Iterable[str] = (), per_call: Iterable[str] = ()
    ) -> None:
        if kind in _REGISTRIES:
            raise RegistryError(f"a registry of kind {kind!r} already exists")
        self.kind = kind
        self.supplied = tuple(supplied)
        self.per_call = tuple(per_call)
        self._entries: dict[str, Callable[..., T]] = {}
        self._docs: dict[str, str] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._aliases: dict[str, str] = {}
        _REGISTRIES[kind] = self

    def register(
        self, name: str, doc: str = "", **meta: Any
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator form of :meth:`add`."""

        def deco(target: Callable[..., T]) -> Callable[..., T]:
            self.add(name, target, doc, **meta)
            return target

        return deco

    def add(self, name: str, target: Callable[..., T], doc: str = "", **meta: Any) -> None:
        """Register ``target`` as ``name``; ``meta`` is free-form information about it
        (e.g. a metric's kernel), read back with :meth:`meta`."""
        if name in self._entries and self._entries[name] is not target:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target
        first_line = (target.__doc__ or "").strip().splitlines()
        self._docs[name] = doc or (first_line[0] if first_line else "")
        self._meta[name] = dict(meta)

    def alias(self, alias: str, name: str) -> None:
        """Let ``alias`` name the entry ``name`` too (``"opa"`` for ``"pair_accuracy"``)."""
        self.get(name)
        if alias in self._entries or self._aliases.get(alias, name) != name:
            raise RegistryError(f"{self.kind} {alias!r} is already registered")
        self._aliases[alias] = name

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` (itself, or the name an alias stands for)."""
        return self._aliases.get(name, name)

    def aliases(self) -> dict[str, str]:
        """``alias -> name``."""
        return dict(self._aliases)

    def __getitem__(self, name: str) -> Callable[..., T]:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"

    def names(self, *, sort: bool = True) -> list[str]:
        """Registered names, sorted (or in the order they were registered)."""
        return sorted(self._entries) if sort else list(self._entries)

    def describe(self, name: str) -> str:
        """One line about ``name`` (the first line of its docstring by default)."""
        return self._docs.get(name, "")

    def meta(self, name: str) -> Mapping[str, Any]:
        """The ``meta`` given when ``name`` was registered."""
        self.get(name)
        return self._meta[self.canonical(name)]

    def get(self, name: str, *, where: str = "name") -> Callable[..., T]:
        """The registered target, or a :class:`RegistryError` with a suggestion."""
        try:
            return self._entries[self._aliases.get(name, name)]
        except (KeyError, TypeError):
            raise RegistryError(
                f"{where}: unknown {self.kind} {name!r}{did_you_mean(str(name), self._entries)}"
                f"; known: {', '.join(self.names())}"
            ) from None

    def choose(self, name: str, what: str) -> Callable[..., T]:
        """The target named by an argument's value: like :meth:`get`, with the error
        worded for a function argument (``"fuse: method must be one of ..., got 'x'"``)."""
        if isinstance(name, str) and name in self:
            return self.get(name)
        raise RegistryError(
            f"{what} must be one of {', '.join(self.names())}, got {name!r}"
            f"{did_you_mean(str(name), self._entries)}"
        )

    def parameters(self, name: str) -> dict[str, inspect.Parameter]:
        """The parameters a spec may set for ``name`` (its signature minus the supplied
        and per-call ones)."""
        return signature_parameters(self.get(name), (*self.supplied, *self.per_call))

    def check(self, name: str, params: Mapping[str, Any], *, where: str = "") -> None:
        """Check a spec without building it (config validation)."""
        prefix = f"{where}." if where else ""
        self.get(name, where=f"{prefix}name")
        check_params(
            f"{self.kind} {name!r}",
            self.parameters(name),
            params,
            where=f"{prefix}params",
            supplied=(*self.supplied, *self.per_call),
        )

    def build(self, name: str, params: Mapping[str, Any] | None = None, /, **supplied: Any) -> T:
        """Build ``name`` with the spec's ``params`` (checked) plus the builder's
        ``supplied`` ones; for a registry of per-call functions, the function with
        ``params`` bound."""
        spec_params = dict(params or {})
        self.check(name, spec_params)
        return self._make(name, spec_params, supplied)

    def _make(self, name: str, params: dict[str, Any], supplied: dict[str, Any]) -> T:
        target = self.get(name)
        if self.per_call:
            return functools.partial(target, **params, **supplied)  # type: ignore[return-value]
        return target(**params, **supplied)


def registries() -> dict[str, Registry[Any]]:
    """Every registry of rankwise, ``{kind: Registry}``, sorted by kind."""
    for module in _DEFINING_MODULES:
        importlib.import_module(module)
    return dict(sorted(_REGISTRIES.items()))


def build(kind: str, spec: str | Mapping[str, Any], /, *, where: str = "", **supplied: Any) -> Any:
    """Build a component of ``kind`` from ``"name"`` or ``{"name": ..., "params": {...}}``
    (checked against its signature, with did-you-mean); ``supplied`` are the parameters the
    caller passes itself (``num_features=...``)."""
    found = registries()
    if kind not in found:
        raise RegistryError(
            f"unknown kind of component {kind!r}{did_you_mean(kind, found)}; "
            f"known: {', '.join(found)}"
        )
    name, params = parse_spec(spec, where)
    registry = found[kind]
    registry.check(name, params, where=where)
    return registry._make(name, params, supplied)
