"""``ftrag data trainset DOCS --out train.jsonl``: the bench's generated training data, to audit or reuse."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compare.engines.registry import EngineConfig, add_engine_args
from compare.trainset.build import check_usable
from compare.trainset.config import MIN_PARAMS_TEXT, TrainsetConfig
from compare.trainset.stage import held_out_questions, load_trainset, produce_trainset
from corpus.config import add_config_args, config_from_args
from corpus.errors import DataError, UserError
from corpus.formats import load
from corpus.io import atomic_write_text, dumps_jsonl
from corpus.paths import resolve_dataset
from finetune.config import TrainConfig
from retrieval.config import RetrievalConfig


def cmd_trainset(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    loaded = load(resolve_dataset(args.docs), qa=args.qa)
    if loaded.problems:
        raise DataError(loaded.problems)
    ds = loaded.dataset
    cfg = config_from_args(TrainsetConfig, args)
    if args.rules_only:
        cfg = TrainsetConfig(
            **{**cfg.to_dict(), "model_questions": "off", "round_trip": "off", "recipes": "qa"}
        )
    if args.recipe not in cfg.recipe_names:
        raise UserError(f"`--recipe` {args.recipe!r} is not among `--recipes` ({cfg.recipes})")
    configs = {"trainset": cfg, "train": TrainConfig(model=args.model), "retrieval": RetrievalConfig(),
               "engine": EngineConfig(name=args.engine or "auto")}  # fmt: skip
    ts = load_trainset(produce_trainset(ds, configs, held_out_questions(ds)) | {"seconds": 0.0})
    check_usable(ts, ds)
    items = ts.recipes.get(args.recipe, [])
    atomic_write_text(out, dumps_jsonl([q.to_json() for q in items]))
    c = ts.counts
    print(f"{len(items)} {args.recipe} items ({c['facts'][args.recipe]} facts) from {c['pages_covered']} "
          f"of {c['pages']} pages -> {out}")  # fmt: skip
    print("  kept by rule:  " + ", ".join(f"{k} {v}" for k, v in sorted(c["by_rule"].items())))
    print("  removed:       " + (", ".join(f"{k} {v}" for k, v in c["dropped"].items()) or "none"))
    if logs := c.get("changelog_pages"):
        print(f"  not read:      {len(logs)} changelog page(s): {', '.join(logs[:5])}")
    print("  recipes:       " + ", ".join(f"{r} {n}" for r, n in c["items"].items()))
    if not args.rules_only and not c.get("model_questions"):
        why = (
            "off"
            if cfg.model_questions == "off"
            else f"auto: the generator is under {MIN_PARAMS_TEXT} parameters; --model-questions on forces it"
        )
        print(f"  model-written: none (trainset.model_questions {why})")
    trip = c.get("rule_round_trip") or {}
    print(f"  unanswerable:  {c.get('unanswerable', 0)}" + (f"; the reader agreed with {trip['agreed']} of "
          f"{trip['asked']} rule answers" if trip.get("asked") else ""))  # fmt: skip
    if args.json:
        print(json.dumps(c, indent=2))
    return 0


def register_data(dsub: argparse._SubParsersAction) -> None:
    """``trainset`` under ``ftrag data`` (it needs a model, so it is registered from here)."""
    p = dsub.add_parser("trainset", help="generate training data from your own pages (rules + model)")
    p.add_argument("docs", help="docs folder, dataset folder, JSONL/CSV documents, or a bundled name")
    p.add_argument("--out", required=True, help="training questions JSONL to write")
    p.add_argument("--qa", help="your dev/test questions: no generated item may look like one")
    p.add_argument(
        "--model", default=TrainConfig().model, help="writer and reader model (default: %(default)s)"
    )
    p.add_argument("--recipe", default="qa", help="which recipe's items to write (default: qa)")
    p.add_argument("--rules-only", action="store_true", help="no model: rule questions, no round trip")
    add_engine_args(p)
    p.add_argument("--json", action="store_true", help="also print the counts as JSON")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    add_config_args(p, TrainsetConfig, skip=("seed",))
    p.set_defaults(func=cmd_trainset)
