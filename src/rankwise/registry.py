"""Registries: components built by name from ``{name, params}`` specs.

One :class:`Registry` per kind of component (models, optimisers, schedulers, ...). A
spec's ``params`` are checked against the target's signature before anything is
built, so a misspelt or unknown parameter fails with a message naming it, suggesting
the closest allowed name and listing the allowed ones.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RegistryError(ValueError):
    """A component name or parameter that the registry does not know."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def keyword_only_parameters(
    fn: Callable[..., Any], per_call: Iterable[str] = ()
) -> dict[str, inspect.Parameter]:
    """A function's keyword-only parameters except the per-call ones: the
    hyper-parameters a loss module stores (``per_call`` are passed on every call)."""
    named = signature_parameters(fn, per_call)
    return {k: p for k, p in named.items() if p.kind == inspect.Parameter.KEYWORD_ONLY}


def check_parameters(owner: str, params: Iterable[str], allowed: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming every unknown parameter, with a suggestion for typos."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        hints = ", ".join(f"{u!r}{did_you_mean(u, allowed)}" for u in unknown)
        raise ValueError(f"{owner}: unknown parameter(s) {hints}; allowed: {sorted(allowed)}")


def signature_parameters(
    target: Callable[..., Any], skip: Iterable[str] = ()
) -> dict[str, inspect.Parameter]:
    """Parameters a spec may set: every named parameter of ``target`` (a class's
    ``__init__``) except ``self``, ``*args``/``**kwargs`` and ``skip``."""
    fn = target.__init__ if inspect.isclass(target) else target
    skipped = set(skip) | {"self"}
    return {
        k: p
        for k, p in inspect.signature(fn).parameters.items()
        if k not in skipped and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def check_params(
    owner: str,
    target: Callable[..., Any],
    params: Mapping[str, Any],
    *,
    skip: Iterable[str] = (),
    where: str = "params",
) -> None:
    """Raise :class:`RegistryError` if ``params`` has a key ``target`` does not take, or
    misses one it requires (other than ``skip``, which the builder supplies)."""
    allowed = signature_parameters(target, skip)
    for key in params:
        if key not in allowed:
            raise RegistryError(
                f"{where}: unknown parameter {key!r} for {owner}{did_you_mean(key, allowed)}; "
                f"allowed: {', '.join(sorted(allowed)) or '(none)'}"
            )
    missing = [
        k
        for k, p in allowed.items()
        if p.default is inspect.Parameter.empty and k not in params and k not in set(skip)
    ]
    if missing:
        raise RegistryError(f"{where}: {owner} needs parameter(s) {', '.join(missing)}")


class Registry(Generic[T]):
    """Named factories of one kind of component."""

    def __init__(self, kind: str, skip: Iterable[str] = ()) -> None:
        self.kind = kind
        self.skip = tuple(skip)  # parameters the builder passes (e.g. num_features)
        self._entries: dict[str, Callable[..., T]] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, doc: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, doc)
            return factory

        return deco

    def add(self, name: str, factory: Callable[..., T], doc: str = "") -> None:
        if name in self._entries and self._entries[name] is not factory:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = factory
        first_line = (factory.__doc__ or "").strip().splitlines()
        self._docs[name] = doc or (first_line[0] if first_line else "")

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def describe(self, name: str) -> str:
        return self._docs.get(name, "")

    def get(self, name: str, *, where: str = "name") -> Callable[..., T]:
        if name not in self._entries:
            raise RegistryError(
                f"{where}: unknown {self.kind} {name!r}{did_you_mean(name, self._entries)}; "
                f"known: {', '.join(self.names())}"
            )
        return self._entries[name]

    def check(self, name: str, params: Mapping[str, Any], *, where: str = "") -> None:
        """Check a spec without building it (config validation)."""
        factory = self.get(name, where=f"{where}.name" if where else "name")
        check_params(
            f"{self.kind} {name!r}",
            factory,
            params,
            skip=self.skip,
            where=f"{where}.params" if where else "params",
        )

    def build(
        self, name: str, spec_params: Mapping[str, Any] | None = None, /, **supplied: Any
    ) -> T:
        """Build ``name`` with the spec's parameters (checked) plus the builder's
        ``supplied`` ones (e.g. ``num_features``, an optimiser's ``params``)."""
        params = dict(spec_params or {})
        self.check(name, params)
        return self._entries[name](**params, **supplied)
