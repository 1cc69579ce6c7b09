"""``ftrag sweep``: the fine-tuning rules of thumb, measured on your corpus.

Practitioner guides repeat a handful of rules: a low learning rate (1e-5 to 5e-5) or the model
forgets; 3-5 epochs; 1,000-50,000 examples; quality beats quantity; LoRA trains about 0.1% of the
parameters; QLoRA makes one GPU enough; injected knowledge is only extractable when it was seen in
many phrasings. A sweep trains one adapter per variant of a few knobs (each through the stage
cache, so a repeated or interrupted sweep reuses what finished), scores every variant the same way
and checks each rule against the variant table.

This module holds the pure parts: the sweep config and its profiles, the knob registry and the
variant grid. :mod:`compare.sweep.rules` holds the Pareto front and the rule checks,
:mod:`compare.sweep.run` trains and scores, :mod:`compare.sweep.report` writes the run folder,
:mod:`compare.sweep.cli` is the command.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from corpus.errors import UserError
from finetune.config import DEFAULT_TARGETS, TrainConfig

TARGET_PRESETS = {
    "all": DEFAULT_TARGETS,
    "attn": "q_proj,k_proj,v_proj,o_proj",
    "qv": "q_proj,v_proj",
    "mlp": "gate_proj,up_proj,down_proj",
}


@dataclass(frozen=True)
class SweepConfig:
    """What the sweep varies and how each variant is scored.

    ``knobs``: grids separated by ``;``, each a cartesian product of ``name=v1,v2`` parts joined by
    `` x ``; the variants are the union of the grids (the defaults appear once). The knowledge
    accuracy is scored on ``split``: dev by default, because a sweep chooses settings, and a split
    that settings were chosen on no longer gives an unbiased score (the bench scores test once).
    """

    profile: str = field(default="quick", metadata={"help": "quick | sweep"})
    knobs: str = field(default="", metadata={"help": "grids: 'lr=1e-4,1e-3 x phrasings=1,0; epochs=3,5'"})
    split: str = field(default="dev", metadata={"help": "questions the knowledge accuracy is scored on"})
    facts: int = field(default=0, metadata={"help": "first N facts of the dataset (0 = all)"})
    questions: int = field(default=0, metadata={"help": "scored questions, a seeded sample (0 = all)"})
    probes: int = field(
        default=0, metadata={"help": "general probes answered by the base, a sample (0 = all)"}
    )
    max_new_tokens: int = field(default=24, metadata={"help": "answer length cap (tokens)"})
    batch_size: int = field(default=16, metadata={"help": "generation batch size"})
    hardware: str = field(default="cpu", metadata={"help": "price-table row the training cost uses"})
    seed: int = field(default=0, metadata={"help": "seed for the question and probe samples"})

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise UserError(f"`profile` must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        for name in ("facts", "questions", "probes"):
            if getattr(self, name) < 0:
                raise UserError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")
        for name in ("max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"`{name}` must be a positive integer, got {getattr(self, name)!r}")
        parse_grids(self.knobs)  # a bad grid fails when the config is made, naming the knob

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# quick: learning rate x phrasings (2 x 2) on the bench's quick subset (the first 100 facts) with
# 3 epochs: 8.2 minutes on a 2-core AMD EPYC, measured (README, "Sweeps"). 2e-5 is the folklore's learning
# rate, 2e-3 the adapter default. sweep: every knob around the defaults, on every fact, plus the
# learning rate x phrasings grid (a cartesian product of every knob would be thousands of trainings).
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {
        "sweep": {"facts": 100, "knobs": "lr=2e-5,2e-3 x phrasings=1,0"},
        "train": {"epochs": 3, "dev_limit": 64},
    },
    "sweep": {
        "sweep": {
            "facts": 0,
            "knobs": "; ".join(
                (
                    "lr=2e-5,1e-4,5e-4,2e-3 x phrasings=1,0",
                    "epochs=1,3,5,7,10",
                    "r=4,16,64",
                    "target_modules=qv,attn,all",
                    "method=lora,qlora",
                    "fact_fraction=0.25,0.5,1",
                    "corrupt_fraction=0,0.5,0.75",
                    "replay=0,0.5",
                )
            ),
        },
        "train": {"dev_limit": 64},
    },
}


# --- knobs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """One knob: how a value is read, what is allowed (said in words), and how it sets a config."""

    cast: Callable[[str], Any]
    ok: Callable[[Any], bool]
    allowed: str
    apply: Callable[[TrainConfig, Any], TrainConfig] | None = None  # None: a sweep-level knob


def _targets(text: str) -> str:
    return TARGET_PRESETS.get(text, text.replace("+", ","))


KNOBS: dict[str, Knob] = {
    "lr": Knob(float, lambda v: 0 < v < 1, "a number in (0, 1)", lambda c, v: replace(c, lr=v)),
    "epochs": Knob(int, lambda v: v >= 1, "a positive integer", lambda c, v: replace(c, epochs=v)),
    # alpha follows the rank (alpha = 2r) so the LoRA scale alpha/r stays what the defaults use
    "r": Knob(int, lambda v: v >= 1, "a positive integer", lambda c, v: replace(c, r=v, alpha=2 * v)),
    "target_modules": Knob(
        str,
        lambda v: bool(v.strip()),
        f"a preset ({', '.join(TARGET_PRESETS)}) or module names joined by + (q_proj+v_proj)",
        lambda c, v: replace(c, target_modules=_targets(v)),
    ),
    "method": Knob(str, lambda v: v in ("lora", "qlora"), "lora or qlora", lambda c, v: replace(c, method=v)),
    "fact_fraction": Knob(
        float, lambda v: 0 < v <= 1, "a share in (0, 1]", lambda c, v: replace(c, fact_fraction=v)
    ),
    "corrupt_fraction": Knob(
        float, lambda v: 0 <= v < 1, "a share in [0, 1)", lambda c, v: replace(c, corrupt_fraction=v)
    ),
    "phrasings": Knob(
        int, lambda v: v >= 0, "an integer >= 0 (0 = all)", lambda c, v: replace(c, phrasings=v)
    ),
    # replay: general (question, answer) pairs mixed in per training example (0.5: one per two)
    "replay": Knob(float, lambda v: v >= 0, "a ratio >= 0 (replay pairs per training example)"),
}


def base_value(knob: str, train: TrainConfig) -> Any:
    """The value a knob has when the sweep does not vary it (from the train config)."""
    if knob == "replay":
        return 0.0
    if knob == "method":
        return train.method
    if knob == "target_modules":
        return next((k for k, v in TARGET_PRESETS.items() if v == train.target_modules), train.target_modules)
    return getattr(train, knob)


def parse_knob(text: str) -> tuple[str, list[Any]]:
    """``"lr=2e-5,1e-4"`` -> ``("lr", [2e-05, 0.0001])``; unknown knobs and bad values name what to
    change."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep:
        raise UserError(f"knob {text!r} must look like name=v1,v2 (e.g. lr=2e-5,1e-4)")
    if name not in KNOBS:
        raise UserError(f"unknown knob {name!r}; knobs: {', '.join(KNOBS)}")
    knob, out = KNOBS[name], []
    for item in (v.strip() for v in values.split(",")):
        if not item:
            continue
        try:
            value = knob.cast(item)
            good = knob.ok(value)
        except ValueError:
            good = False
        if not good:
            raise UserError(f"knob `{name}` has a bad value {item!r}; it takes {knob.allowed}")
        out.append(value)
    if not out:
        raise UserError(f"knob `{name}` has no values; give e.g. {name}=v1,v2")
    return name, list(dict.fromkeys(out))


def parse_grids(text: str) -> list[dict[str, list[Any]]]:
    """``"lr=1e-4,1e-3 x phrasings=1,0; epochs=3,5"`` -> one dict of knob values per grid."""
    grids = []
    for part in (g.strip() for g in text.split(";")):
        if not part:
            continue
        grid: dict[str, list[Any]] = {}
        for knob in (k.strip() for k in part.split(" x ")):
            name, values = parse_knob(knob)
            if name in grid:
                raise UserError(f"knob `{name}` appears twice in one grid ({part!r})")
            grid[name] = values
        grids.append(grid)
    return grids


def knob_text(knob: str, value: Any) -> str:
    """How a value is written in names and tables (``2e-05``, ``all`` phrasings as ``0``)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Variant:
    """One setting of the swept knobs (the rest as configured)."""

    knobs: tuple[tuple[str, Any], ...]  # only the knobs its grid varies, in the grid's order

    @property
    def name(self) -> str:
        return " ".join(f"{k}={knob_text(k, v)}" for k, v in self.knobs) or "defaults"

    def value(self, knob: str, train: TrainConfig) -> Any:
        return dict(self.knobs).get(knob, base_value(knob, train))

    def train_config(self, train: TrainConfig) -> TrainConfig:
        """The train config of this variant; an invalid combination raises naming the field."""
        for name, value in self.knobs:
            if KNOBS[name].apply is not None:
                train = KNOBS[name].apply(train, value)
        return train

    def settings(self, train: TrainConfig) -> dict[str, Any]:
        """Every knob's value in this variant, varied or not (the variant table's knob columns)."""
        return {k: self.value(k, train) for k in KNOBS}


def variant_grid(grids: Sequence[Mapping[str, Sequence[Any]]], train: TrainConfig) -> list[Variant]:
    """The union of the grids' cartesian products; variants that resolve to the same settings (the
    defaults in several one-knob grids) are kept once, under the first name they got."""
    out, seen = [], set()
    for grid in grids or [{}]:
        names = list(grid)
        for values in itertools.product(*(grid[n] for n in names)):
            v = Variant(tuple(zip(names, values, strict=True)))
            v.train_config(train)  # validate now, not after an hour of training
            key = tuple(sorted((k, knob_text(k, x)) for k, x in v.settings(train).items()))
            if key not in seen:
                seen.add(key)
                out.append(v)
    return out


def varied_knobs(variants: Sequence[Variant]) -> list[str]:
    """Knobs that take more than one value across the variants, in first-seen order."""
    return list(dict.fromkeys(k for v in variants for k, _ in v.knobs))
