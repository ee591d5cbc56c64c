"""Run-kind configs as frozen dataclasses: the schema is read off the class.

A run kind's config is a frozen dataclass. Its fields give the config keys, their types and
defaults; per-field metadata made by :func:`param` (or the shorthand :func:`setting`) adds
bounds, choices and help::

    from dataclasses import dataclass
    from theorycheck.runs.kinds import register_run_kind, setting

    @dataclass(frozen=True)
    class WalkConfig:
        steps: int = setting(10, min_value=1, help="steps of the walk")
        scale: float = setting(1.0, positive=True, help="step standard deviation")
        reflect: bool = setting(False, help="reflect at 0")
        mode: str = setting("plain", choices=("plain", "lazy"))
        widths: tuple[int, ...] = setting((8, 8), min_value=1, min_len=1)

    WALK = register_run_kind("walk", walk, config=WalkConfig)

Types understood: ``bool`` (TOML ``true``/``false`` only; a string such as ``"no"`` is
refused), ``int``, ``float``, ``str``, ``typing.Literal[...]`` (choices), ``X | None`` (None
allowed), ``tuple[X, ...]`` (a list in TOML and in the stored config, a tuple in the object)
and ``X | tuple[X, ...]`` (one value or a list). A field of another type needs ``check=``.

A field named ``seed`` is not a config key: it receives the run's seed, and the stored
config (hence the run hash) leaves it out.

Checks happen once, at the boundary (:func:`check_config`; the sweep driver and
:func:`~theorycheck.runs.kinds.run_once` call it through the kind): each value is converted
and range-checked with a one-line :class:`~theorycheck.errors.SpecError` naming the key and
the fix, defaults are filled in, and an optional method ``normalised(self)`` of the class
does cross-field checks and returns the final object. :func:`stored_form` turns the object
into the JSON dict that is hashed and stored; :func:`from_stored` rebuilds the object from
it without checking again (a stored config was checked when it was recorded).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import MISSING, dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int, check_real

_META_KEY = "theorycheck"
SEED_FIELD = "seed"


@dataclass(frozen=True)
class ParamInfo:
    """Bounds, choices and help of one config field (see :func:`param`)."""

    min_value: float | None = None
    max_value: float | None = None
    positive: bool = False
    nonnegative: bool = False
    allow_inf: bool = False
    choices: tuple | None = None
    min_len: int | None = None
    check: Callable[[str, Any], Any] | None = None
    form: str | None = None
    help: str = ""


def param(*, min_value=None, max_value=None, positive: bool = False, nonnegative: bool = False,
          allow_inf: bool = False, choices=None, min_len: int | None = None,
          check: Callable[[str, Any], Any] | None = None, form: str | None = None,
          help: str = "") -> dict:
    """Field metadata for a config dataclass: ``field(default=..., metadata=param(...))``.

    Parameters
    ----------
    min_value, max_value : number, optional
        Inclusive bounds of an ``int`` or ``float`` field (of each item of a tuple field).
    positive, nonnegative : bool
        A ``float`` field must be > 0 (>= 0).
    allow_inf : bool
        A ``float`` field may be ``inf`` (otherwise values must be finite).
    choices : sequence of str, optional
        The allowed values of a ``str`` field.
    min_len : int, optional
        Fewest items of a tuple field.
    check : callable, optional
        ``check(name, value) -> value`` run after the type check; raises a one-line
        :class:`~theorycheck.errors.SpecError`.
    form : str, optional
        How the expected value is described in error messages (derived from the type if absent).
    help : str
        One line shown with the key.

    Returns
    -------
    dict
        The mapping to pass as ``metadata=``.
    """
    return {_META_KEY: ParamInfo(min_value, max_value, positive, nonnegative, allow_inf,
                                 None if choices is None else tuple(choices), min_len, check,
                                 form, help)}


def setting(default: Any = MISSING, **kwargs) -> Any:
    """Shorthand for ``dataclasses.field(default=default, metadata=param(**kwargs))``; without
    ``default`` the key is required."""
    return dataclasses.field(default=default, metadata=param(**kwargs))


# -- types ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    base: type | None            # bool, int, float, str; None: only ``check`` applies
    optional: bool = False       # None allowed
    seq: str = "one"             # "one" value, a "tuple" of values, or "either"
    literal: tuple | None = None


_BASES = (bool, int, float, str)


def _is_tuple_of(tp) -> type | None:
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis and args[0] in _BASES:
            return args[0]
    return None


def _shape(tp) -> _Shape | None:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        vals = typing.get_args(tp)
        return _Shape(type(vals[0]), literal=vals)
    if tp in _BASES:
        return _Shape(tp)
    item = _is_tuple_of(tp)
    if item is not None:
        return _Shape(item, seq="tuple")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        scalars = [a for a in rest if a in _BASES]
        tuples = [_is_tuple_of(a) for a in rest if _is_tuple_of(a) is not None]
        if len(rest) == 1:
            inner = _shape(rest[0])
            return None if inner is None else dataclasses.replace(inner, optional=optional)
        if len(scalars) == 1 and tuples == scalars and len(rest) == 2:
            return _Shape(scalars[0], optional, "either")
    return None


_NOUNS = {bool: ("true/false", "booleans"), int: ("integer", "integers"),
          float: ("real", "reals"), str: ("string", "strings")}


def _form(shape: _Shape, info: ParamInfo) -> str:
    if info.form:
        return info.form
    if shape.base is None:
        return "value"
    choices = shape.literal or info.choices
    if choices:
        cond = "one of " + "/".join(map(str, choices))
    elif shape.base is int:
        lo, hi = info.min_value, info.max_value
        cond = (f"in {lo}..{hi}" if lo is not None and hi is not None else
                f">= {lo}" if lo is not None else f"<= {hi}" if hi is not None else "")
    elif shape.base is float:
        cond = ", ".join(b for b in ("> 0" if info.positive else None,
                                     ">= 0" if info.nonnegative else None,
                                     None if info.min_value is None else f">= {info.min_value}",
                                     None if info.max_value is None else f"<= {info.max_value}") if b)
    else:
        cond = ""
    one, many = _NOUNS[shape.base]
    if shape.seq == "tuple":
        return f"list of {many}" + (f" ({cond})" if cond else "")
    scalar = cond if choices else one + (f" {cond}" if cond else "")
    return scalar + (", or a list of them" if shape.seq == "either" else "")


def _convert_one(name: str, value: Any, shape: _Shape, info: ParamInfo) -> Any:
    base = shape.base
    if base is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{name}={value!r} is invalid: not a boolean; write {name} = true or "
                            f"{name} = false (unquoted)")
        out = value
    elif base is int:
        out = check_int(name, value, min_value=info.min_value, max_value=info.max_value)
    elif base is float:
        if info.allow_inf and not isinstance(value, bool) and isinstance(value, (int, float)) \
                and value == math.inf:
            out = math.inf
        else:
            out = check_real(name, value, positive=info.positive, nonnegative=info.nonnegative,
                             min_value=info.min_value, max_value=info.max_value)
    elif base is str:
        if not isinstance(value, str):
            raise SpecError(f"{name}={value!r} is invalid: not a string; write {name} = \"...\"")
        out = value
    else:
        out = value
    choices = shape.literal or info.choices
    if choices:
        out = check_choice(name, out, choices)
    return out


def _converter(shape: _Shape, info: ParamInfo) -> Callable[[str, Any], Any]:
    def convert(name: str, value: Any) -> Any:
        if value is None and shape.optional:
            return None
        if shape.base is not None and value is None:
            raise SpecError(f"{name}=None is invalid: a value is required; give {name} as "
                            f"{_form(shape, info)}")
        if shape.seq == "tuple" or (shape.seq == "either" and isinstance(value, (list, tuple))):
            if not isinstance(value, (list, tuple)):
                raise SpecError(f"{name}={value!r} is invalid: not a list; write {name} = [...] "
                                f"({_form(shape, info)})")
            if info.min_len is not None and len(value) < info.min_len:
                raise SpecError(f"{name}={list(value)!r} is invalid: fewer than {info.min_len} "
                                f"item(s); give at least {info.min_len}")
            out = tuple(_convert_one(f"{name}[{i}]", v, shape, info) for i, v in enumerate(value))
        else:
            out = _convert_one(name, value, shape, info)
        return info.check(name, out) if info.check else out
    return convert


# -- the schema of a class ------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSpec:
    """One config key of a config class: its form, default (``MISSING``: required), help and
    converter ``convert(name, value) -> value`` (raises a one-line SpecError)."""

    name: str
    form: str
    default: Any
    help: str
    convert: Callable[[str, Any], Any]
    seq: str

    @property
    def required(self) -> bool:
        return self.default is MISSING


@lru_cache(maxsize=None)
def fields_of(cls: type) -> dict[str, FieldSpec]:
    """The :class:`FieldSpec` of every field of config dataclass ``cls``, in field order."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise SpecError(f"config={cls!r} is not a dataclass; decorate it with "
                        f"@dataclass(frozen=True)")
    if not cls.__dataclass_params__.frozen:
        raise SpecError(f"config class {cls.__name__} is not frozen; decorate it with "
                        f"@dataclass(frozen=True) (typed configs are shared and trusted)")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:
        raise SpecError(f"config class {cls.__name__}: its field types cannot be resolved "
                        f"({type(exc).__name__}: {exc}); import the names they use") from None
    out = {}
    for f in dataclasses.fields(cls):
        info = f.metadata.get(_META_KEY, ParamInfo())
        shape = _shape(hints[f.name])
        if shape is None:
            if info.check is None:
                raise SpecError(f"config class {cls.__name__}: field {f.name!r} has type "
                                f"{hints[f.name]!r}; use bool, int, float, str, X | None, "
                                f"tuple[X, ...] or X | tuple[X, ...], or give param(check=...)")
            shape = _Shape(None)
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        out[f.name] = FieldSpec(f.name, _form(shape, info), default, info.help,
                                _converter(shape, info), shape.seq)
    return out


def describe(spec: FieldSpec) -> str:
    """``name (form, default value)`` as error messages list the valid keys."""
    shown = "" if spec.required else f", default {to_json(spec.default)!r}"
    return f"{spec.name} ({spec.form}{shown})"


def check_config(cls: type, values: Mapping[str, Any], *, what: str,
                 fixed: Mapping[str, Any] | None = None) -> Any:
    """Validate ``values`` into an instance of config dataclass ``cls``: the boundary check.

    Parameters
    ----------
    cls : type
        A frozen dataclass (see the module docstring).
    values : Mapping
        Config keys; absent keys take their defaults.
    what : str
        What the keys belong to, for messages (e.g. ``"run kind 'bfc-train'"``).
    fixed : Mapping, optional
        Fields set without checks and not accepted from ``values`` (the run's ``seed``).

    Returns
    -------
    object
        The instance, after the class's ``normalised()`` hook if it has one.

    Raises
    ------
    SpecError
        One line naming the first bad key and the fix.
    """
    fixed = dict(fixed or {})
    specs = {k: s for k, s in fields_of(cls).items() if k not in fixed}
    if not isinstance(values, Mapping):
        raise SpecError(f"config for {what} is {type(values).__name__}; give a table of keys: "
                        f"{expected(specs)}")
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise SpecError(f"config key {unknown[0]!r} is unknown for {what}; valid keys: "
                        f"{expected(specs)}")
    out = {}
    for name, spec in specs.items():
        if name in values:
            out[name] = spec.convert(name, values[name])
        elif spec.required:
            raise SpecError(f"config key {name!r} is required for {what}; add {describe(spec)}")
        else:
            out[name] = spec.convert(name, spec.default)
    obj = cls(**out, **fixed)
    hook = getattr(obj, "normalised", None)
    if hook is not None:
        obj = hook()
    return obj


def expected(specs: Mapping[str, FieldSpec]) -> str:
    return ", ".join(describe(specs[k]) for k in sorted(specs)) or "(none)"


def to_json(value: Any) -> Any:
    """The JSON form of a field value: tuples become lists."""
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    return value


def stored_form(obj: Any, *, exclude=(SEED_FIELD,)) -> dict:
    """The stored (hashed) config of a checked config object: every field but ``exclude``,
    keys sorted, tuples as lists. No checks."""
    return {f.name: to_json(getattr(obj, f.name))
            for f in sorted(dataclasses.fields(obj), key=lambda f: f.name) if f.name not in exclude}


def from_stored(cls: type, stored: Mapping[str, Any], **fixed) -> Any:
    """Rebuild a config object from its stored form (no checks: it was checked when stored)."""
    specs = fields_of(cls)
    kw = {}
    for k, v in stored.items():
        seq = specs[k].seq if k in specs else "one"
        kw[k] = tuple(v) if seq != "one" and isinstance(v, list) else v
    return cls(**kw, **fixed)


def has_seed(cls: type) -> bool:
    return SEED_FIELD in fields_of(cls)
