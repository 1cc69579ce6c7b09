"""Config dataclasses <-> command-line flags and JSON, shared by every track.

Each track has one small frozen dataclass validated in ``__post_init__``. The CLI exposes its
fields as ``--field value`` flags typed from the annotations (nanoGPT-style overrides without
``exec``), and every run saves the resolved config next to its results.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, TypeVar

from corpus.errors import UserError
from corpus.io import atomic_write_text

T = TypeVar("T")
_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse_bool(text: str) -> bool:
    if text.lower() not in _BOOL:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return _BOOL[text.lower()]


def add_config_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """Add one ``--name`` flag per dataclass field (default None = keep the config default)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        conv = _parse_bool if kind is bool else kind if kind in (int, float, str) else str
        default = f.default if f.default is not dataclasses.MISSING else None
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f.name, type=conv, default=None,
            metavar=kind.__name__.upper() if isinstance(kind, type) else "VALUE",
            help=f"{f.metadata.get('help', '')} (default: {default})",
        )  # fmt: skip


def config_from_args(cls: type[T], args: argparse.Namespace, **fixed: Any) -> T:
    """Build ``cls`` from the flags the user actually gave; validation errors name the field."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    return cls(**{**given, **fixed})


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return {"type": type(cfg).__name__, **dataclasses.asdict(cfg)}


def save_config(path: str | Path, **configs: Any) -> None:
    """Write resolved configs as JSON (``{"chunking": {...}, ...}``), atomically."""
    data = {k: config_to_dict(v) if dataclasses.is_dataclass(v) else v for k, v in configs.items()}
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _convert(cls: type, name: str, text: str) -> Any:
    kind = typing.get_type_hints(cls)[name]
    if kind is bool:
        return _parse_bool(text)
    return kind(text) if kind in (int, float, str) else text


def apply_overrides(configs: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """``section.field=value`` overrides (``train.epochs=3``) applied to frozen config dataclasses.

    An unknown section or field is a ValueError naming the valid ones; values are typed from the
    field's annotation and validated by the dataclass itself.
    """
    out = dict(configs)
    for item in items:
        key, sep, value = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise UserError(f"override {item!r} must look like section.field=value, e.g. train.epochs=3")
        if section not in out:
            raise UserError(f"unknown config section {section!r} in {item!r}; sections: {', '.join(out)}")
        cls = type(out[section])
        names = [f.name for f in dataclasses.fields(cls)]
        if name not in names:
            raise UserError(f"unknown config key {key!r}; {section} has: {', '.join(names)}")
        try:
            typed = _convert(cls, name, value.strip())
        except (ValueError, argparse.ArgumentTypeError):
            kind = typing.get_type_hints(cls)[name]
            raise UserError(f"override {item!r}: `{name}` takes {getattr(kind, '__name__', kind)}") from None
        out[section] = dataclasses.replace(out[section], **{name: typed})
    return out


def read_saved_config(path: str | Path) -> dict[str, dict[str, Any]]:
    """A saved ``config.json`` (``{"train": {...}, ...}``); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: config file not found; check --config")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not valid UTF-8; a config is a JSON file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object of sections, got {type(data).__name__}")
    bad = next((k for k, v in data.items() if not isinstance(v, dict)), None)
    if bad is not None:
        raise UserError(f"{path}: section `{bad}` must be an object of field: value")
    return data
