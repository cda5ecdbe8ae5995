"""Config as data: frozen dataclasses whose fields declare their allowed values.

A field is declared with :func:`spec` (default, range or choices); the
:func:`config` decorator makes the class frozen and checks every field at
construction, so a bad value fails at once with the key, the value and what is
allowed. :func:`from_dict` builds nested configs from plain dicts (Hydra YAML,
gym kwargs) and names unknown keys.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

import numpy as np

from retail_env.errors import ConfigError

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # gymnasium requires typing_extensions
    from typing_extensions import dataclass_transform
if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
C = TypeVar("C", bound="DataclassInstance")  # a config class (made by @config)
__all__ = [
    "ConfigError",
    "check_choice",
    "check_count",
    "check_mapping",
    "config",
    "from_dict",
    "replace",
    "spec",
    "to_dict",
    "validate",
]


def spec(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple | None = None,
    doc: str = "",
    length: int | None = None,
    rows: int | None = None,
) -> Any:
    """A dataclass field with its allowed range (inclusive) or choices.

    The field's type is its annotation (int, float, bool, str, a config class or
    ``tuple``); a tuple's items have the type of the default's items and, if
    ``length`` is given, exactly that many (else at least one). ``rows=W``: a table, a
    tuple of any number (none too) of rows of W numbers each.
    """
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for sequence defaults (configs are frozen)")
    item = type(default[0]) if isinstance(default, tuple) and default else None
    meta = {
        "lo": lo,
        "hi": hi,
        "choices": choices,
        "doc": doc,
        "length": length,
        "item": item,
        "rows": rows,
    }
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


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "a bool", str: "a string"}
_PLURALS = {int: "integers", float: "numbers", bool: "bools", str: "strings"}


def _is_type(value: Any, tp: Any) -> bool:
    """``value`` is of the scalar config type ``tp`` (bools are not numbers here)."""
    if tp is bool:
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):
        return False
    if tp is int:
        return isinstance(value, numbers.Integral)
    if tp is float:
        return isinstance(value, numbers.Real)
    if tp is str:
        return isinstance(value, str)
    return True


def _check_type(path: str, value: Any, tp: Any, meta: Mapping[str, Any]) -> None:
    """ConfigError unless ``value`` has the field's declared type (and tuple length)."""
    if tp is tuple and meta.get("rows"):
        w = meta["rows"]
        if not isinstance(value, tuple) or not all(
            isinstance(r, (tuple, list)) and len(r) == w and all(_is_type(v, float) for v in r)
            for r in value
        ):
            raise ConfigError(
                f"{path}={value!r} has the wrong type: must be a list of rows of "
                f"{w} numbers each (or an empty list)"
            )
    elif tp is tuple:
        item, length = meta.get("item") or float, meta.get("length")
        items = _PLURALS.get(item, item.__name__)
        want = f"a list of {length} {items}" if length else f"a non-empty list of {items}"
        if (
            not isinstance(value, tuple)
            or not value
            or (length and len(value) != length)
            or not all(_is_type(v, item) for v in value)
        ):
            raise ConfigError(
                f"{path}={value!r} has the wrong type: must be {want} {_allowed(meta)}"
            )
    elif tp in _TYPE_NAMES and not _is_type(value, tp):
        rng = "" if _allowed(meta) == "any value" else f", {_allowed(meta)}"
        raise ConfigError(
            f"{path}={value!r} has the wrong type ({type(value).__name__}): "
            f"must be {_TYPE_NAMES[tp]}{rng}"
        )


def _check_value(path: str, value: Any, meta: Mapping[str, Any], tp: Any = None) -> None:
    _check_type(path, value, tp, meta)
    choices, lo, hi = meta.get("choices"), meta.get("lo"), meta.get("hi")
    if choices is not None:
        if value not in choices:
            raise ConfigError(f"{path}={value!r} is not allowed: must be {_allowed(meta)}")
        return
    if lo is None and hi is None:
        return
    values = value if isinstance(value, tuple) else (value,)
    if meta.get("rows"):
        values = tuple(v for r in value for v in r)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ConfigError(f"{path}={value!r} must be a number {_allowed(meta)}")
        if v != v or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{path}={value!r} is out of range: must be {_allowed(meta)}")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def validate(obj: Any, prefix: str = "") -> None:
    """Check every declared field of a config dataclass (type, then range; recursively)."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        tp = hints.get(f.name)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if not isinstance(value, tp):
                raise ConfigError(
                    f"{path}={value!r} has the wrong type: must be a mapping of "
                    f"{tp.__name__} fields"
                )
            validate(value, prefix=path + ".")
        else:
            _check_value(path, value, f.metadata, tp)


@dataclass_transform(frozen_default=True)
def config(cls: type[T]) -> type[T]:
    """Decorator: a frozen dataclass validated at construction."""
    user_post = getattr(cls, "__post_init__", None)

    def __post_init__(self):
        validate(self)
        if user_post is not None:
            user_post(self)

    cls.__post_init__ = __post_init__  # pyright: ignore[reportAttributeAccessIssue]  (any class)
    return dataclasses.dataclass(frozen=True)(cls)


def _listed(value: Any) -> bool:
    """A list given for a tuple field (a list, a NumPy array, a Hydra ListConfig)."""
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes, tuple))


def _coerce(path: str, tp: Any, value: Any, meta: Mapping[str, Any]) -> Any:
    item = meta.get("item")
    if tp is tuple and meta.get("rows") and (_listed(value) or isinstance(value, tuple)):
        rows = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
        if all(_listed(r) or isinstance(r, tuple) for r in rows):  # a table: rows as tuples
            return tuple(tuple(r.tolist() if isinstance(r, np.ndarray) else r) for r in rows)
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path} must be a mapping of {tp.__name__} fields, got {value!r}")
        return from_dict(tp, value, prefix=path + ".")
    if tp is tuple and _listed(value):  # lists, Hydra ListConfig
        items = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
        ok = items and all(_is_type(v, item or float) for v in items)
        return items if ok else value  # a bad list is named as given
    if _is_type(value, tp) and tp in (int, float, bool):  # NumPy scalars -> Python
        try:
            return tp(value)
        except OverflowError:  # an int beyond any float: the range check names it
            return value
    return value


def check_mapping(name: str, data: Any) -> dict:
    """``data`` (a mapping, or None for empty) as a dict; anything else is a ConfigError."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{name}={data!r} has the wrong type ({type(data).__name__}): "
            "must be a mapping of config keys (a dict) or None"
        )
    return dict(data)


def check_count(name: str, value: Any, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an int in [lo, hi], or a ConfigError naming it (``num_envs`` and the like)."""
    if not _is_type(value, int):
        raise ConfigError(
            f"{name}={value!r} has the wrong type ({type(value).__name__}): "
            f"must be an integer {_allowed({'lo': lo, 'hi': hi})}"
        )
    if value < lo or (hi is not None and value > hi):
        raise ConfigError(
            f"{name}={value!r} is out of range: must be {_allowed({'lo': lo, 'hi': hi})}"
        )
    return int(value)


def check_choice(name: str, value: Any, choices: Any) -> str:
    """``value`` if it is one of the string ``choices`` (preset names), else a ConfigError."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name}={value!r} is not allowed: must be one of {sorted(choices)}")
    return value


def from_dict(cls: type[C], data: Mapping[str, Any] | None, prefix: str = "") -> C:
    """Build ``cls`` from a (nested) mapping; unknown keys raise ConfigError."""
    data = check_mapping(prefix.rstrip(".") or cls.__name__, data)
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted((k for k in data if k not in names), key=repr)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {[prefix + str(k) for k in unknown]}; "
            f"allowed keys under '{prefix or cls.__name__}': {names}"
        )
    metas = {f.name: f.metadata for f in dataclasses.fields(cls)}
    kwargs = {k: _coerce(prefix + k, hints[k], v, metas[k]) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:
        if prefix and not str(e).startswith(prefix):
            raise ConfigError(f"{prefix}{e}") from None
        raise


def replace(obj: C, overrides: Mapping[str, Any] | None) -> C:
    """A copy of config ``obj`` with nested ``overrides`` applied (validated)."""
    overrides = check_mapping("overrides", overrides)
    if not overrides:
        return obj
    return from_dict(type(obj), merged(to_dict(obj), overrides))


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict:
    """``over`` applied on ``base``, nested mappings key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
        )
    return out


def to_dict(obj: Any) -> dict:
    """A plain (JSON-able) nested dict of a config."""
    out = dataclasses.asdict(obj)

    def fix(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: fix(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return [fix(v) for v in x]
        return x

    return fix(out)
