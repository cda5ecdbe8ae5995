"""Config as data: frozen dataclasses whose fields declare their allowed values.

A field is declared with :func:`spec` (default, range or choices); the
:func:`config` decorator makes the class frozen and checks every field at
construction, so a bad value fails at once with the key, the value and what is
allowed. :func:`from_dict` builds nested configs from plain dicts (Hydra YAML,
gym kwargs) and names unknown keys.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any, TypeVar, get_type_hints

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value is unknown, of the wrong type or out of range."""


def spec(default: Any, lo: float | None = None, hi: float | None = None,
         choices: tuple | None = None, doc: str = "") -> Any:
    """A dataclass field with its allowed range (inclusive) or choices."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "doc": doc}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for sequence defaults (configs are frozen)")
    return dataclasses.field(default=default, metadata=meta)


def _allowed(meta: Mapping[str, Any]) -> str:
    if meta.get("choices") is not None:
        return f"one of {list(meta['choices'])}"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"in [{lo}, {hi}]"
    if lo is not None:
        return f">= {lo}"
    if hi is not None:
        return f"<= {hi}"
    return "any value"


def _check_value(path: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices, lo, hi = meta.get("choices"), meta.get("lo"), meta.get("hi")
    if choices is not None:
        if value not in choices:
            raise ConfigError(f"{path}={value!r} is not allowed: must be {_allowed(meta)}")
        return
    if lo is None and hi is None:
        return
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ConfigError(f"{path}={value!r} must be a number {_allowed(meta)}")
        if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{path}={value!r} is out of range: must be {_allowed(meta)}")


def validate(obj: Any, prefix: str = "") -> None:
    """Check every declared field of a config dataclass (recursively)."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            validate(value, prefix=path + ".")
        else:
            _check_value(path, value, f.metadata)


def config(cls: type[T]) -> type[T]:
    """Decorator: a frozen dataclass validated at construction."""
    user_post = getattr(cls, "__post_init__", None)

    def __post_init__(self):
        validate(self)
        if user_post is not None:
            user_post(self)

    cls.__post_init__ = __post_init__
    return dataclasses.dataclass(frozen=True)(cls)


def _coerce(path: str, tp: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path} must be a mapping of {tp.__name__} fields, got {value!r}")
        return from_dict(tp, value, prefix=path + ".")
    if isinstance(value, list):
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_dict(cls: type[T], data: Mapping[str, Any] | None, prefix: str = "") -> T:
    """Build ``cls`` from a (nested) mapping; unknown keys raise ConfigError."""
    data = dict(data or {})
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"unknown config key(s) {[prefix + k for k in unknown]}; "
                          f"allowed keys under '{prefix or cls.__name__}': {names}")
    kwargs = {k: _coerce(prefix + k, hints[k], v) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:
        if prefix and not str(e).startswith(prefix):
            raise ConfigError(f"{prefix}{e}") from None
        raise


def replace(obj: T, overrides: Mapping[str, Any] | None) -> T:
    """A copy of config ``obj`` with nested ``overrides`` applied (validated)."""
    if not overrides:
        return obj
    merged = to_dict(obj)
    _deep_update(merged, overrides)
    return from_dict(type(obj), merged)


def _deep_update(base: dict, new: Mapping[str, Any]) -> None:
    for k, v in new.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v


def to_dict(obj: Any) -> dict:
    """A plain (JSON-able) nested dict of a config."""
    out = dataclasses.asdict(obj)

    def fix(x):
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return [fix(v) for v in x]
        return x

    return fix(out)
