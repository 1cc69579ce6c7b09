"""Dev tuning: every system's knobs are chosen on the ``dev`` split, then ``test`` is scored once.

Why: the ordering of RAG and fine-tuning flips with the reader, k and the training budget
(DESIGN.md, "A fair comparison"), so a verdict between an untuned side and a tuned one is wrong
advice. Each side gets a small grid, searched one knob at a time from the configured defaults
(coordinate search: a grid of a few values per knob costs their sum, not their product), scored
on a seeded sample of answerable dev questions. What each side spent (compute seconds) is
recorded, so the budgets can be compared.

- RAG, hybrid, RAFT: prompt variant (chat / one-shot / few-shot / completion layout), retrieved
  chunks k, and the context token budget (only when more than one chunk is retrieved). The
  retriever (dense / BM25 / hybrid) is chosen by dev MRR@10, which needs no generation.
- FT: learning rate from a grid (each value trained for a few epochs of its full schedule, the
  best one continues: successive halving), then the epoch with the best dev accuracy, read from
  the adapter every epoch leaves behind (no training again).

A prompt trial stops as soon as it can no longer beat the trials before it (raced,
compare.pipeline.search): the choice, its answers and every test score stay those of the whole
search, at a fraction of the cost of the trials that lose by far.

The selection functions are pure; :class:`Tuner` wires them to the cache, the model and the split.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import fmean
from typing import Any

from compare.answering.specs import SystemSpec
from compare.answering.systems import Resources, build_prompts, cached_answers
from compare.config import PROMPT_VARIANTS, BenchConfig
from compare.harness.stages import digest
from compare.pipeline.abstain import QUOTED, apply_gate, choose_gate, gate_line, quoted_signals, with_support
from compare.pipeline.reader import choose_reader, reading_with
from compare.pipeline.search import Trial, best_possible, coordinate_search, pick, raced_answers
from compare.scoring.evaluate import score_answer
from compare.trainset.config import MIN_TAUGHT_DEV, untaught_reason
from corpus.model import Dataset, QAItem
from finetune.config import TrainConfig

log = logging.getLogger(__name__)

# Epochs without a lower dev loss before ft_by_loss stops. The loss averages every token of every
# dev answer, so it is smooth where accuracy on a few dozen questions is not: two epochs in a row
# that do not lower it mark the turn (on the generated Django data the loss rose from epoch 1, and
# a third epoch of patience cost 116 s of training and did not change the choice).
LOSS_PATIENCE = 2
RETRIEVER_METRIC = "mrr@10"  # the rank of the first relevant chunk is what a 1-3 chunk prompt needs


def tune_sample(questions: Sequence[QAItem], n: int, seed: int) -> list[QAItem]:
    """A seeded sample of ``n`` answerable questions (all when ``n`` is 0 or larger), in id order."""
    pool = sorted((q for q in questions if q.kind != "unanswerable"), key=lambda q: q.id)
    if n and n < len(pool):
        pool = sorted(random.Random(seed).sample(pool, n), key=lambda q: q.id)
    return pool


def dev_accuracy(questions: Sequence[QAItem], answers: Sequence[Any], style: Mapping | None) -> float:
    """Share of answerable questions answered correctly (the harness's accuracy)."""
    by_id = {a.qid: a for a in answers}
    scores = [dev_correct(q, by_id[q.id], style) for q in questions if q.kind != "unanswerable"]
    return fmean(scores) if scores else 0.0


def dev_correct(q: QAItem, answer: Any, style: Mapping | None) -> float:
    """Whether ``answer`` answers ``q`` correctly, as the harness scores it (1.0 or 0.0)."""
    return score_answer(q, answer, {}, style)["correct"]


def dev_budget(ds: Dataset, bench: BenchConfig, train: TrainConfig) -> BenchConfig:
    """Dev tuning sized to the dev split: none without answerable dev questions, one alternative per
    knob below ``bench.tune_min_dev`` of them (a small dev set over-fits a wide grid), else the grid."""
    n = sum(1 for q in ds.questions("dev") if q.kind != "unanswerable")
    if not bench.tune or n >= bench.tune_min_dev:
        return bench
    if n == 0:
        log.info("[tune] no answerable dev questions: every system keeps its configured knobs")
        return replace(bench, tune=False)
    prompts = ",".join(bench.tune_prompts.split(",")[:2])
    log.info(f"[tune] warning: {n} answerable dev questions (under {bench.tune_min_dev}); tuning tries one "
             f"alternative per knob: prompts {prompts}, k {bench.context_k}, lr {train.lr:g}")  # fmt: skip
    return replace(bench, tune_prompts=prompts, tune_k=str(bench.context_k), tune_lrs=f"{train.lr:g}",
                   tune_budgets="")  # fmt: skip


def parse_list(text: str, cast: Callable[[str], Any] = str) -> list[Any]:
    """``"1,3"`` -> ``[1, 3]``; empty items are dropped."""
    return [cast(x.strip()) for x in text.split(",") if x.strip()]


def choose_retriever(metrics: Mapping[str, Mapping[str, float]], configured: str) -> str:
    """The retriever with the best dev MRR@10; a tie keeps the configured one."""
    order = [configured, *sorted(n for n in metrics if n != configured)]
    order = [n for n in order if n in metrics]
    return max(order, key=lambda n: (metrics[n][RETRIEVER_METRIC], -order.index(n))) if order else configured


def prompt_axes(spec: SystemSpec, prompts: Sequence[str], ks: Sequence[int]) -> list[list[dict[str, Any]]]:
    """The grid of a retrieving system: prompt variants (where it takes worked examples), then k."""
    axes = [[PROMPT_VARIANTS[p] for p in prompts]] if spec.examples and prompts else []
    return axes + ([[{"k": k} for k in ks]] if ks else [])


@dataclass
class Tuner:
    """Runs the dev trials of each system on the shared model and records what they cost (its
    ``facts``: the run's ``tuning`` section as far as these trials go)."""

    ds: Dataset
    configs: dict[str, Any]
    res: Resources
    cache: Any
    questions: list[QAItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        bench = self.configs["bench"]
        self.questions = tune_sample(self.ds.questions("dev"), bench.tune_questions, bench.seed)
        self.style = self.ds.house_style
        self.out: dict[str, Any] = {"split": "dev", "questions": len(self.questions), "seed": bench.seed}
        self.out["systems"] = {}
        self.dev_answers: dict[str, list[Any]] = {}  # a system's gated dev answers (abstention)
        self.part_dev_answers: dict[str, list[Any]] = {}  # the same as a composed system reads them

    @property
    def facts(self) -> dict[str, Any]:
        return {"tuning": self.out}

    def score(self, spec: SystemSpec, key: str) -> tuple[float, float]:
        """Dev accuracy of ``spec`` as the resources are now, and the seconds answering took (when
        the answers were made: a cached trial still counts what it cost)."""
        answers, seconds = cached_answers(self.cache, spec, self.questions, self.res, digest("tune", key))
        return dev_accuracy(self.questions, answers, self.style), seconds

    def raced(self, spec: SystemSpec, key: str, knobs: dict[str, Any], bar: float) -> Trial:
        """The trial of ``knobs``, stopped once it cannot beat ``bar`` (compare.pipeline.search)."""
        n = len(self.questions)
        answers, seconds = raced_answers(
            self.cache, spec, self.questions, self.res, digest("tune", key), bar,
            lambda q, a: dev_correct(q, a, self.style),
        )  # fmt: skip
        if len(answers) == n:
            return Trial(knobs, dev_accuracy(self.questions, answers, self.style), seconds)
        by_id = {a.qid: a for a in answers}
        scores = [dev_correct(q, by_id[q.id], self.style) for q in self.questions if q.id in by_id]
        most = best_possible(scores, n)
        label = f"stopped after {len(answers)} of {n} questions: at most {most:.3f}, not above {bar:.3f}"
        return Trial(knobs, most, seconds, label, len(answers))

    def record(
        self, system: str, chosen: Trial, trials: Sequence[Trial], default: Trial | None = None,
        extra: float = 0.0,
    ) -> None:  # fmt: skip
        """Chosen and default settings, every trial, and the compute seconds the tuning cost."""
        first = default or trials[0]
        self.out["systems"][system] = {
            "chosen": chosen.knobs,
            "dev_accuracy": round(chosen.accuracy, 4),
            "default": first.knobs,
            "default_dev_accuracy": round(first.accuracy, 4),
            "trials": [
                {k: v for k, v in asdict(t).items() if v is not None}
                | {"accuracy": round(t.accuracy, 4), "seconds": round(t.seconds, 1)}
                for t in trials
            ],
            "seconds": round(sum(t.seconds for t in trials) + extra, 1),
        }
        stopped = sum(t.answered is not None for t in trials)
        early = f" ({stopped} stopped once they could not win)" if stopped else ""
        log.info(
            f"[tune:{system}] {len(trials)} trials on {len(self.questions)} dev questions{early}: "
            f"{_knobs(first.knobs)} {first.accuracy:.3f} -> {_knobs(chosen.knobs)} {chosen.accuracy:.3f}"
        )

    def prompts(self, spec: SystemSpec, key: str) -> dict[str, Any]:
        """Prompt knobs of a retrieving system chosen on dev; they stay set in ``res.tuned``."""
        bench = self.configs["bench"]
        trial_spec = replace(spec, name=f"{spec.name}@tune")
        base = asdict(self.res.knobs(spec))

        same: dict[str, Trial] = {}  # first rendered prompt -> trial: variants a model renders alike

        def evaluate(knobs: dict[str, Any], bar: float) -> Trial:
            self.res.tuned[spec.name] = {k: v for k, v in knobs.items() if v != base[k]}
            prompt = build_prompts(trial_spec, self.questions[:1], self.res)[0][0] if self.questions else ""
            if prompt in same:  # e.g. "completion" for a model without a chat template: not run twice
                return replace(same[prompt], knobs=knobs, seconds=0.0,
                               label=f"same prompt as {_knobs(same[prompt].knobs)}")  # fmt: skip
            same[prompt] = self.raced(trial_spec, key, knobs, bar)
            return same[prompt]

        axes = prompt_axes(spec, parse_list(bench.tune_prompts), parse_list(bench.tune_k, int))
        chosen, trials = coordinate_search(base, axes, evaluate)
        default = trials[0]
        budgets = parse_list(bench.tune_budgets, int)
        if budgets and chosen["k"] > 1:  # one chunk rarely fills a budget: nothing to choose
            chosen, more = coordinate_search(chosen, [[{"context_budget": b} for b in budgets]], evaluate)
            trials += [t for t in more if t not in trials]
        best = next(t for t in trials if t.knobs == chosen)
        self.res.tuned[spec.name] = {k: v for k, v in chosen.items() if v != base[k]}
        self.record(spec.name, best, trials, default)
        return chosen

    def reader(
        self, spec: SystemSpec, key: Callable[[SystemSpec], str], readers: Sequence[str]
    ) -> SystemSpec:
        """The hybrid with the reader (adapter) of best dev accuracy, each with its own prompt knobs
        tuned; a tie keeps the first (compare.pipeline.reader). The losing trials stay in the record."""
        tried: dict[str, tuple[SystemSpec, dict, dict]] = {}
        for name in readers:
            s = reading_with(spec, name)
            log.info(f"[tune:{spec.name}] reader {name}")
            self.res.tuned.pop(spec.name, None)  # each reader's knobs start from the defaults
            self.prompts(s, key(s))
            tried[name] = (s, self.out["systems"][spec.name], dict(self.res.tuned.get(spec.name, {})))
        accuracy = {n: t[1]["dev_accuracy"] for n, t in tried.items()}
        chosen = choose_reader(accuracy)
        best, record, knobs = tried[chosen]
        self.res.tuned[spec.name] = knobs
        lost = sum(t[1]["seconds"] for n, t in tried.items() if n != chosen)
        self.out["systems"][spec.name] = record | {
            "reader": {"chosen": chosen, "dev_accuracy": accuracy},
            "seconds": round(record["seconds"] + lost, 1),
        }
        log.info(
            f"[tune:{spec.name}] reader on dev: "
            + ", ".join(f"{n} {a:.3f}" for n, a in accuracy.items())
            + f" -> {chosen}"
        )
        return best

    def abstention(self, spec: SystemSpec, key: str, read_by_composed: bool = False) -> None:
        """The abstention gate of a retrieving system, chosen on dev with the knobs it now has:
        its answers to the tuning questions (cached from the prompt trials) and to dev's unanswerable
        ones, each with its support; the gate is set in ``res.gates`` and recorded with the reason
        when it stays off (compare.pipeline.abstain). ``read_by_composed``: the routed hybrid reads
        this system's answers, so a ``+quoted`` choice also gets a plain gate for it (:meth:`part_gate`)."""
        bench, res = self.configs["bench"], self.res
        qs, answers, seconds = self.dev_set(spec, key)
        unanswerable = qs[len(self.questions) :]
        signals = bench.abstain_signal_names if res.embed else ["support"]
        if res.embed and bench.abstain_quoted:
            signals = quoted_signals(signals)
        template = (self.style or {}).get("template")
        scored = {
            sig: with_support(qs, answers, res.chunk_text, res.embed, sig, template) if res.embed else answers
            for sig in signals
        }
        t, per = choose_gate(qs, signals, bench.abstain_max_drop, scored.__getitem__, self.style)
        res.gates[spec.name] = (t.signal, t.value)
        gated = apply_gate(scored[t.signal], t.value, self.ds.abstain_reply)
        self.dev_answers[spec.name] = gated
        self.out["systems"][spec.name]["abstain"] = {
            "signal": t.signal, "threshold": None if not t.active else round(t.value, 6), "reason": t.reason,
            "unanswerable": len(unanswerable), "max_drop": bench.abstain_max_drop,
            "abstention": round(t.abstention, 4), "accuracy": round(t.accuracy, 4),
            "accuracy_before": round(t.accuracy_before, 4), "gated": sum(bool(a.gated_text) for a in gated),
            "seconds": round(seconds, 1),
            "signals": {n: {"threshold": None if not x.active else round(x.value, 6),
                            "abstention": round(x.abstention, 4), "accuracy": round(x.accuracy, 4)}
                        for n, x in per.items()},
        }  # fmt: skip
        log.info(f"[tune:{spec.name}] abstention on dev: {gate_line(t, len(unanswerable))}")
        if read_by_composed and t.signal.endswith(QUOTED):
            self.part_gate(spec, qs, [s for s in signals if not s.endswith(QUOTED)], scored)

    def part_gate(self, spec: SystemSpec, qs: list[QAItem], plain: list[str], scored: dict) -> None:
        """The gate of ``spec``'s answers as the routed hybrid reads them, where dev chose a
        ``+quoted`` signal: the best of the ``plain`` signals (the routing rules make the chunk check
        themselves, and must see the answers it would strike). Set in ``res.part_gates``."""
        bench, reply = self.configs["bench"], self.ds.abstain_reply
        p, _ = choose_gate(qs, plain, bench.abstain_max_drop, scored.__getitem__, self.style)
        self.res.part_gates[spec.name] = (p.signal, p.value)
        self.part_dev_answers[spec.name] = apply_gate(scored[p.signal], p.value, reply)
        self.out["systems"][spec.name]["abstain"]["part_gate"] = {
            "signal": p.signal, "threshold": None if not p.active else round(p.value, 6),
            "abstention": round(p.abstention, 4), "accuracy": round(p.accuracy, 4),
        }  # fmt: skip
        line = gate_line(p, sum(q.kind == "unanswerable" for q in qs))
        log.info(f"[tune:{spec.name}] as the routed hybrid reads it: {line}")

    def dev_set(self, spec: SystemSpec, key: str) -> tuple[list[QAItem], list[Any], float]:
        """The tuning questions and dev's unanswerable ones, ``spec``'s answers to them as its knobs
        now are (cached from the prompt trials), and the seconds the answers took."""
        unanswerable = [q for q in self.ds.questions("dev") if q.kind == "unanswerable"]
        trial_spec = replace(spec, name=f"{spec.name}@tune")
        answers, seconds = cached_answers(
            self.cache, trial_spec, self.questions, self.res, digest("tune", key)
        )
        if unanswerable:
            more, s = cached_answers(self.cache, trial_spec, unanswerable, self.res, digest("tune", key))
            answers, seconds = answers + more, seconds + s
        return self.questions + unanswerable, answers, seconds

    def ft(self, train_adapter: Callable[..., tuple[Path, dict]]) -> tuple[Path, dict]:
        """The ``sft`` adapter with its learning rate and epoch chosen on dev: its folder and card.

        ``train_adapter(cfg, stop_epochs)`` trains (or loads) the adapter of ``cfg`` up to
        ``stop_epochs`` epochs of its schedule (``None``: to the end)."""
        bench, train = self.configs["bench"], self.configs["train"]
        lrs = parse_list(bench.tune_lrs, float) or [train.lr, train.lr / 4]
        probe = bench.tune_probe_epochs if len(lrs) > 1 and 0 < bench.tune_probe_epochs < train.epochs else 0
        trials: dict[tuple, Trial] = {}
        probe_seconds: dict[float, float] = {}
        if probe:  # successive halving: every lr trains `probe` epochs of its schedule, the best goes on
            for lr in lrs:
                _, card = train_adapter(replace(train, lr=lr), probe)
                self.snapshot_trial(lr, probe, card, trials)
                done = max(card.get("epochs_done", probe), 1)
                probe_seconds[lr] = card.get("train_seconds", 0.0) * min(probe, done) / done
            lrs = [pick(list(trials.values())).knobs["lr"]]
        cards = {lr: self.train_lr(train_adapter, replace(train, lr=lr), trials) for lr in lrs}
        finals = sorted(
            (t for t in trials.values() if t.knobs["lr"] in cards), key=lambda t: t.knobs["epochs"]
        )
        chosen = pick(finals)  # in epoch order, so fewer epochs win a tie
        card = cards[chosen.knobs["lr"]]
        # Tuning's own cost: the runs that lost (the chosen one is the adapter's training cost).
        lost = {lr: c.get("train_seconds", 0.0) for lr, c in cards.items() if c is not card}
        extra = sum(lost.values()) + sum(s for lr, s in probe_seconds.items() if lr not in cards)
        default = trials.get(_key({"lr": train.lr, "epochs": train.epochs}))
        self.record("ft", chosen, list(trials.values()), default, extra)
        until = (f"until {bench.tune_patience} epochs brought no dev gain (at most {train.epochs})"
                 if bench.tune_patience else "to the end")  # fmt: skip
        self.out["systems"]["ft"]["note"] = (
            f"each lr trained {probe} of {train.epochs} epochs, the best went on {until}"
            if probe
            else f"each lr trained {until}"
        )
        folder = Path(card["path"]) / "epochs" / str(chosen.knobs["epochs"])
        return folder, card | {"epoch": chosen.knobs["epochs"], "key": digest(card["key"], chosen.knobs)}

    def ft_by_loss(self, train_adapter: Callable[..., tuple[Path, dict]], why: str) -> tuple[Path, dict]:
        """The ``sft`` adapter at the configured learning rate with its epoch chosen by dev *loss*,
        for when dev accuracy cannot tell epochs apart (``why``: the training data holds fewer than
        ``MIN_TAUGHT_DEV`` dev answers, so accuracy would move on one or two of them while the
        answers' loss still says how well the adapter knows them). Training stops after
        ``bench.tune_patience`` epochs (at most ``LOSS_PATIENCE``) without a lower dev loss; only
        the chosen epoch is scored."""
        bench, train = self.configs["bench"], self.configs["train"]
        patience = min(bench.tune_patience, LOSS_PATIENCE) if bench.tune_patience else train.epochs
        losses: dict[int, float] = {}

        def minus_loss(epoch: int, card: Mapping[str, Any]) -> float | None:
            if not card["dev_loss"]:
                return None
            losses[epoch] = float(card["dev_loss"][-1][1])
            return -losses[epoch]

        card, _ = until_stale(train_adapter, train, patience, minus_loss)
        if not losses:  # no dev loss to go by (the trainer had no dev questions): accuracy decides
            return self.ft(train_adapter)
        epoch = min(losses, key=lambda e: (losses[e], e))
        trials: dict[tuple, Trial] = {}
        chosen = self.snapshot_trial(train.lr, epoch, card, trials)
        self.record("ft", chosen, [chosen])
        self.out["systems"]["ft"].update(
            note=f"the epoch with the lowest dev loss, training stopped after {patience} epochs without a "
            f"lower one ({why}; dev accuracy cannot tell epochs apart)",
            dev_loss={str(e): round(x, 5) for e, x in losses.items()},
        )
        log.info(f"[tune:ft] {why}: epoch chosen by dev loss: {epoch} of {max(losses)} trained "
                 f"({', '.join(f'{x:.3f}' for x in losses.values())})")  # fmt: skip
        folder = Path(card["path"]) / "epochs" / str(epoch)
        return folder, card | {"epoch": epoch, "key": digest(card["key"], chosen.knobs)}

    def train_lr(self, train_adapter: Callable[..., tuple[Path, dict]], cfg: Any, trials: dict) -> dict:
        """Train ``cfg`` and score dev after every epoch; with ``bench.tune_patience``, one epoch at a
        time (each resumes the last checkpoint, to the same weights as one run) until that many epochs
        in a row bring no gain. Returns the training card of the last epoch trained."""
        patience = self.configs["bench"].tune_patience
        if not patience:
            _, card = train_adapter(cfg, None)
            for epoch in range(1, card["epochs_done"] + 1):
                self.snapshot_trial(cfg.lr, epoch, card, trials)
            return card
        card, epoch = until_stale(
            train_adapter, cfg, patience, lambda e, c: self.snapshot_trial(cfg.lr, e, c, trials).accuracy
        )
        if epoch < cfg.epochs:
            log.info(f"[tune:ft] lr {cfg.lr:g}: no dev gain for {patience} epochs; stopped after {epoch} "
                     f"of {cfg.epochs}")  # fmt: skip
        return card

    def recipe(
        self, names: Sequence[str], probe: Callable[[str], tuple[Path, dict]],
        taught: Callable[[str, Sequence[QAItem]], int] | None = None,
    ) -> str:  # fmt: skip
        """The training-data recipe with the best dev accuracy after a short training of each
        (``probe(name)`` trains it a few epochs at the configured learning rate); a tie keeps the first.
        When no recipe's items hold the answer of any dev question (``taught(name, questions)``), dev
        cannot tell them apart: the first is kept untried, and the report says why. So it is when no
        recipe holds more than ``MIN_TAUGHT_DEV - 1`` of them: the rest of dev is answered no better
        by either recipe, so the choice would rest on one or two answers."""
        most = max((taught(n, self.questions) for n in names), default=0) if taught is not None else None
        if most is not None and most < MIN_TAUGHT_DEV:
            return self.keep_untried(names[0], untaught_reason(most, len(self.questions)))
        trials = []
        for name in names:
            folder, card = probe(name)
            spec_name = f"sft-recipe-{name}"
            self.res.add_adapter(spec_name, folder)
            acc, seconds = self.score(
                SystemSpec(f"ft@{spec_name}", spec_name, False, "dev trial"), card["key"]
            )
            trials.append(Trial({"recipe": name}, acc, seconds + card.get("train_seconds", 0.0), name))
        best = pick(trials)
        self.out["recipe"] = {
            "chosen": best.knobs["recipe"],
            "trials": [asdict(t) | {"accuracy": round(t.accuracy, 4), "seconds": round(t.seconds, 1)}
                       for t in trials],
        }  # fmt: skip
        log.info(
            f"[tune:recipe] {len(trials)} recipes on {len(self.questions)} dev questions: "
            + ", ".join(f"{t.label} {t.accuracy:.3f}" for t in trials)
            + f" -> {best.label}"
        )
        return best.knobs["recipe"]

    def keep_untried(self, name: str, why: str) -> str:
        """Record that recipe ``name`` is kept without a trial, and why; returns it."""
        self.out["recipe"] = {"chosen": name, "trials": [], "skipped": why}
        log.info(f"[tune:recipe] {why}: {name} kept without a trial")
        return name

    def snapshot_trial(self, lr: float, epoch: int, card: Mapping[str, Any], trials: dict) -> Trial:
        """Dev accuracy of the adapter as it was after ``epoch`` epochs at learning rate ``lr``
        (added to ``trials``; a setting already there is not scored again)."""
        knobs = {"lr": lr, "epochs": epoch}
        if _key(knobs) not in trials:
            name = f"sft-lr{lr:g}-e{epoch}".replace(".", "p")  # peft refuses dots in names
            self.res.add_adapter(name, Path(card["path"]) / "epochs" / str(epoch))
            acc, seconds = self.score(SystemSpec(f"ft@{name}", name, False, "dev trial"), card["key"])
            trials[_key(knobs)] = Trial(knobs, acc, seconds, f"epoch {epoch}")
        return trials[_key(knobs)]


def until_stale(
    train_adapter: Callable[..., tuple[Path, dict]], cfg: Any, patience: int,
    score: Callable[[int, Mapping[str, Any]], float | None],
) -> tuple[dict, int]:  # fmt: skip
    """Train ``cfg`` one epoch at a time (each resumes the last checkpoint, to the same weights as one
    run) and ``score`` each epoch (higher is better; None: nothing to score, stop) until ``patience``
    epochs in a row bring no gain, the trainer stops itself (``train.patience`` on dev loss) or the
    schedule ends. Returns the last training card and the last epoch trained."""
    best, stale = -math.inf, 0
    for epoch in range(1, cfg.epochs + 1):
        _, card = train_adapter(cfg, epoch if epoch < cfg.epochs else None)
        if card["epochs_done"] < epoch:
            break
        value = score(epoch, card)
        if value is None:
            break
        best, stale = (value, 0) if value > best + 1e-9 else (best, stale + 1)
        if stale >= patience:
            break
    return card, epoch


def _key(knobs: Mapping[str, Any]) -> tuple:
    return tuple(sorted(knobs.items()))


def _knobs(knobs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items())
