"""How an operator's YAML file is read and checked: the machinery under `callcenter.config`.

This module owns the generic part of config validation: reading a file (UTF-8, YAML with no key
given twice), the `ConfigError` an operator sees, the converters that turn one YAML value into a
typed one or say "expected X, got Y", and `Section`, which reads the keys of one mapping and
collects every problem instead of stopping at the first. `callcenter.config` describes the
daemon's own settings with these pieces; a new config file (the simulator's, say) can too.

Rules:
- A converter takes the value as YAML parsed it and returns it typed, or raises `Invalid` with a
  message "expected ..., got ..."; `Section` prefixes the key path. Secrets are shown by kind
  ("got an integer"), never by value.
- Nothing is guessed: `1` is not `true`, `"5"` is not `5`, an unknown key is reported with the
  keys allowed there.
- Only the standard library and PyYAML are imported; the IO is `read_yaml` and `readable_file`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

import yaml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
S = TypeVar("S", bound=str)
ROOT = "(top level)"  # the key path of the document itself


class ConfigError(Exception):
    """The operator's configuration is unusable; `problems` holds one `<key path>: <message>` each."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


class Invalid(Exception):
    """Raised by a converter: the value is not acceptable; the message is "expected ..., got ..."."""


# --- the file ---------------------------------------------------------------------------------------


def read_yaml(path: Path) -> object:
    """The parsed YAML document at `path` (None for an empty file); `ConfigError` if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: expected UTF-8 text, got byte {exc.object[exc.start]:#04x}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass: as safe as safe_load
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(path, exc)]) from None


class UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.safe_load`, except that a key given twice in one mapping is an error, not "last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:  # before flattening, so `<<` merges may still be overridden
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if (key_node.tag, key_node.value) in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep)


def yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f"{path}: invalid YAML: {exc}"
    mark = exc.problem_mark
    message = f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        where = exc.context_mark
        message += f" ({exc.context}, line {where.line + 1} column {where.column + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return message


# --- showing values and key paths --------------------------------------------------------------------


def show(value: object) -> str:
    """A value as the operator wrote it in YAML."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return kind(value)


def kind(value: object) -> str:
    """The YAML kind of a value, without showing it (for secrets and containers)."""
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
        (list, "a list"), (dict, "a mapping"), (dt.date, "a date"),
    )  # fmt: skip
    if value is None:
        return "an empty value"
    return next((name for cls, name in kinds if isinstance(value, cls)), f"a {type(value).__name__}")


def child(path: str, key: object) -> str:
    """The key path of `key` inside the mapping at `path`: `ami.servers[0].port`, `queues['a.b']`."""
    name = key if isinstance(key, str) else show(key)
    if path == ROOT:
        return name
    if isinstance(key, str) and not re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}[{key!r}]"
    return f"{path}.{name}"


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- converters ----------------------------------------------------------------------------------------


def integer(low: int, high: int) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"expected an integer {low}-{high}, got {show(value)}")
        return value

    return convert


def number(*, above: float | None = None, at_least: float | None = None) -> Callable[[object], float]:
    bound = f"> {above:g}" if above is not None else f">= {at_least:g}"

    def convert(value: object) -> float:
        if not is_number(value) or not math.isfinite(result := float(value)):
            raise Invalid(f"expected a number {bound}, got {show(value)}")
        if (above is not None and result <= above) or (at_least is not None and result < at_least):
            raise Invalid(f"expected a number {bound}, got {show(value)}")
        return result

    return convert


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {show(value)}")
    return value


def text(*, hidden: bool = False) -> Callable[[object], str]:
    """A non-empty string; `hidden` for secrets: a wrong value is described, never shown."""

    def convert(value: object) -> str:
        if not isinstance(value, str) or not value:
            got = "an empty string" if value == "" else kind(value) if hidden else show(value)
            hint = " (quote it in YAML)" if is_number(value) else ""
            raise Invalid(f"expected a non-empty string{hint}, got {got}")
        return value

    return convert


def choice(options: tuple[S, ...]) -> Callable[[object], S]:
    def convert(value: object) -> S:
        for option in options:
            if value == option:
                return option
        raise Invalid(f"expected {', '.join(options[:-1])} or {options[-1]}, got {show(value)}")

    return convert


def optional(convert: Callable[[object], T]) -> Callable[[object], T | None]:
    """`convert`, except that an empty value (`key:` with nothing after it) means "not set"."""
    return lambda value: None if value is None else convert(value)


def readable_file(base_dir: Path | None, what: str) -> Callable[[object], str]:
    """A file path, joined to `base_dir` when relative, that can be opened for reading now."""

    def convert(value: object) -> str:
        path = Path(text()(value))
        if base_dir is not None:
            path = base_dir / path  # an absolute path stays as it is
        try:
            path.open("rb").close()
        except FileNotFoundError:
            raise Invalid(f"expected {what}, got {str(path)!r} (no such file)") from None
        except IsADirectoryError:
            raise Invalid(f"expected {what}, got {str(path)!r} (a folder)") from None
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise Invalid(f"expected {what} this user can read, got {str(path)!r} ({reason})") from None
        return str(path)

    return convert


# --- one mapping ----------------------------------------------------------------------------------------


class Section:
    """The keys of one config mapping, read with converters; problems are collected, not raised."""

    def __init__(self, raw: object, path: str, keys: tuple[str, ...], problems: list[str]) -> None:
        self.path, self.problems = path, problems
        self.values: dict[str, object] = {}
        self.bad: set[str] = set()
        self.ok = raw is None or isinstance(raw, dict)
        if not self.ok:
            problems.append(f"{path}: expected a mapping, got {show(raw)}")
            return
        for key, value in (raw if isinstance(raw, dict) else {}).items():
            if key in keys:
                self.values[key] = value
            else:
                problems.append(f"{child(path, key)}: unknown key (expected one of: {', '.join(keys)})")

    def problem(self, key: str, message: str) -> None:
        self.bad.add(key)
        self.problems.append(f"{child(self.path, key)}: {message}")

    def get(self, key: str, default: T, convert: Callable[[object], T]) -> T:
        if key not in self.values:
            return default
        try:
            return convert(self.values[key])
        except Invalid as exc:
            self.problem(key, str(exc))
            return default

    def require(self, key: str, convert: Callable[[object], T]) -> T | None:
        if key not in self.values:
            self.problem(key, "required")
            return None
        return self.get(key, None, convert)


def field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    """The keys a section accepts: its settings dataclass's fields, in order."""
    return tuple(f.name for f in fields(cls))
