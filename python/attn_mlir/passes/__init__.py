"""The pass registry: every project pass and pipeline, found by name.

A pass is a small declarative class: a kebab-case `name` that is also its
command-line flag (`--NAME`) and its test file's name, a one-line `summary`,
typed `options`, and a `run(op)` that rewrites the IR in place. Pipelines are
passes whose `expand()` returns a list of upstream pass texts and pass
objects. `attn-opt --list-passes`, the textual pipeline parser and the docs
all read this registry.

Writing a pass in Python takes one decorator::

    @register_pass("my-pass", summary="Does a thing.")
    def my_pass(op):
        ...

Modules in this package are imported on first use of the registry, so a new
pass file registers itself by existing.
"""

from __future__ import annotations

import importlib
import math
import re
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from mlir import ir

from ..diagnostics import AttnError


# Lowest value of numeric options, by option name (a name means the same in every pass).
# Any other int or float option is >= 0; floats are finite.
# (max-weight-growth is a factor on the starting constant bytes that a rewrite adding
# bytes must stay under: 0 blocks every growth, 1.0 is no net growth; >= 0 like the rest.)
MINIMUM = {
    "max-rounds": 1,
    "tile-q": 1,
    "tile-kv": 1,
}


@dataclass(frozen=True)
class Option:
    """A typed pass option, written `name=value` in a pipeline's `{...}`.

    Numbers are range-checked: at least `MINIMUM[name]` (0 unless listed), and
    finite for floats; `nan`, `inf` and negative sizes or counts are errors.
    """

    name: str
    type: type
    default: Any
    help: str = ""

    def parse(self, text: str | None, pass_name: str):
        """The value of `name=text` (`text` None: the bare `name`, true for bools)."""
        if text is None:
            if self.type is bool:
                return True
            raise AttnError(f"option '{self.name}' of pass '{pass_name}' needs a value "
                            f"({self.name}=...)", usage=True)
        try:
            if self.type is bool:
                if text in ("", "true", "1"):
                    return True
                if text in ("false", "0"):
                    return False
                raise ValueError(text)
            if self.type in (list, tuple):
                value = tuple(int(v) for v in text.split(",")) if text.strip() else ()
            elif self.type is int:
                value = int(text, 10)
            else:
                value = self.type(text)
        except ValueError:
            raise AttnError(f"invalid value '{text}' for option '{self.name}' of pass "
                            f"'{pass_name}' (expected {self.type.__name__})", usage=True) from None
        return self.check(value, pass_name)

    def check(self, value, pass_name: str):
        """`value` if it is in range for this option, else a usage error."""
        numbers = value if isinstance(value, tuple) else (value,)
        if self.type in (int, float, list, tuple) and not isinstance(value, bool):
            lowest = MINIMUM.get(self.name, 0)
            for v in numbers:
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise AttnError(f"invalid value {v!r} for option '{self.name}' of pass "
                                    f"'{pass_name}' (expected {self.type.__name__})", usage=True)
                if not math.isfinite(v) or v < lowest:
                    raise AttnError(f"invalid value '{self.format(value)}' for option "
                                    f"'{self.name}' of pass '{pass_name}': expected a finite "
                                    f"number >= {lowest}", usage=True)
        return value

    def format(self, value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return str(value)


class Pass:
    """Base class of project passes. Subclasses set `name`, `summary`, `options`."""

    name: str = ""
    summary: str = ""
    options: tuple[Option, ...] = ()
    is_pipeline: bool = False

    def __init__(self, **values):
        known = {o.name.replace("-", "_"): o for o in self.options}
        self.values = {key: opt.default for key, opt in known.items()}
        for key, value in values.items():
            key = key.replace("-", "_")
            if key not in known:
                raise AttnError(f"pass '{self.name}' has no option '{key.replace('_', '-')}'",
                                usage=True)
            self.values[key] = known[key].check(value, self.name) \
                if known[key].type is not bool else value

    def __getattr__(self, key):
        values = self.__dict__.get("values", {})
        if key in values:
            return values[key]
        raise AttributeError(key)

    def run(self, op: ir.Operation) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def expand(self) -> list:
        """For pipelines: the passes (texts or Pass objects) this one stands for."""
        return [self]

    def __str__(self) -> str:
        opts = " ".join(f"{o.name}={o.format(self.values[o.name.replace('-', '_')])}"
                        for o in self.options
                        if self.values[o.name.replace("-", "_")] != o.default)
        return f"{self.name}{{{opts}}}" if opts else self.name


_REGISTRY: dict[str, type[Pass]] = {}
_LOADED = False


def register_pass(name: str | None = None, *, summary: str = "",
                  options: tuple[Option, ...] = ()) -> Callable:
    """Register a Pass subclass, or a function `fn(op, **options)` as a pass."""

    def decorate(obj):
        if isinstance(obj, type) and issubclass(obj, Pass):
            cls = obj
            if name:
                cls.name = name
            if summary:
                cls.summary = summary
            if options:
                cls.options = tuple(options)
        else:
            fn = obj
            doc = (fn.__doc__ or "").strip()
            cls = type(fn.__name__, (Pass,), {
                "name": name or fn.__name__.replace("_", "-"),
                "summary": summary or (doc.splitlines()[0] if doc else ""),
                "options": tuple(options),
                "__doc__": fn.__doc__,
                "__module__": fn.__module__,
                "run": lambda self, op: fn(op, **self.values),
            })
        _check_name(cls.name, builtin=(getattr(obj, "__module__", "") or "").startswith("attn_mlir."))
        _REGISTRY[cls.name] = cls
        return obj

    return decorate


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def _check_name(name: str, builtin: bool) -> None:
    """A pass name is one pipeline token, and not the name of an upstream pass (which a
    project pass would silently replace in every pipeline). The project's own passes are
    checked once by the test suite, not at every start."""
    if not name:
        raise AttnError("cannot register a pass without a name", usage=True)
    if not _NAME.fullmatch(name):
        raise AttnError(f"cannot register pass '{name}': a pass name is letters, digits, "
                        "'-', '_' and '.', starting with a letter", usage=True)
    if not builtin and _is_upstream_pass(name):
        raise AttnError(f"cannot register pass '{name}': an upstream MLIR pass has that name "
                        "(choose another, e.g. with a project prefix)", usage=True)


def _is_upstream_pass(name: str) -> bool:
    from mlir import passmanager  # noqa: PLC0415 (only needed when registering)

    with ir.Context():
        try:
            passmanager.PassManager.parse(f"builtin.module({name})")
        except ValueError:
            return False
    return True


def _load_builtin_passes() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    # Lowering pipelines live beside the passes they use.
    importlib.import_module("attn_mlir.lowering")


def lookup(name: str) -> type[Pass] | None:
    _load_builtin_passes()
    return _REGISTRY.get(name)


def all_passes() -> list[type[Pass]]:
    _load_builtin_passes()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


__all__ = ["Option", "Pass", "register_pass", "lookup", "all_passes"]
