"""The comparison harness's config dataclass and the bench profiles."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from compare.answering.readers import NO_ORACLE, parse_readers
from compare.answering.routing import check_route
from compare.engines.llamacpp import PRECISIONS
from compare.scenarios.registry import SCENARIOS
from compare.scoring.abstain_signals import SIGNALS
from corpus.errors import UserError
from finetune.config import PROFILES as FINETUNE_PROFILES

# Prompt variants dev tuning tries, as the knobs they set. "few-shot" (3 worked examples in the chat
# template) is the default; "completion" lays the same prompt out as plain text, as base models read.
PROMPT_VARIANTS: dict[str, dict[str, Any]] = {
    "chat": {"shots": 0, "layout": "auto"},
    "one-shot": {"shots": 1, "layout": "auto"},
    "few-shot": {"shots": 3, "layout": "auto"},
    "completion": {"shots": 3, "layout": "completion"},
}

# What each profile changes, per config section; everything else keeps its dataclass default.
# quick: the first 100 facts (20 products) of the bundled dataset and 12 single-request latency
# samples per system. On a 2-core AMD EPYC: 15.4 min with dev tuning (8.6 min of it in the tuning
# stages, the adapter's own training included: a second learning rate's 2-epoch probe, 8 adapter
# and 8 prompt trials on 48 dev questions) and the scenarios, measured on a fresh clone
# (docs/benchmarks.md); the budget is 20 minutes. It skips the forgetting scenario's second
# adapter (trained with a general replay mix: one more full training, about 4 minutes here);
# turn it on with bench.forgetting_replay=true.
# full: every fact, more epochs, 50 latency samples, the replay adapter.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {
        "bench": {"facts": 100, "latency_samples": 12, "forgetting_replay": False},
        "train": FINETUNE_PROFILES["quick"],
    },
    "full": {
        "bench": {
            "facts": 0,
            "latency_samples": 50,
            "tune_prompts": "few-shot,chat,one-shot,completion",
            "tune_k": "1,2,3,5",
            "tune_budgets": "256,512,1024",
            "tune_lrs": "2e-3,1e-3,5e-4,4e-3",
            "tune_probe_epochs": 0,
            "tune_patience": 0,
            "tune_questions": 0,
            # the model axis: does the verdict hold at another size? (DESIGN.md, "A fair comparison")
            "models": "smollm2-135m,gemma3-270m",
            # the hybrid's reader: the closed-book adapter, or it trained on one epoch with retrieved
            # chunks (mix: 0.793 against 0.532 on the quick bench, at 11 more minutes of training on
            # 2 cores, so the quick profile leaves it to --set bench.hybrid_readers=sft,mix)
            "hybrid_readers": "sft,mix",
        },
        "train": {"epochs": 8},
    },
}


@dataclass(frozen=True)
class BenchConfig:
    """How the systems are run and scored.

    The model and its adapter's training live in the train section, chunking and index in theirs;
    this holds what the harness adds: which systems, which questions, and how answers are generated.
    """

    profile: str = field(default="quick", metadata={"help": "quick | full"})
    systems: str = field(
        default="base,rag,ft,hybrid,routed", metadata={"help": "comma-separated system names"}
    )
    split: str = field(default="test", metadata={"help": "questions scored"})
    facts: int = field(default=0, metadata={"help": "first N facts of the dataset (0 = all)"})
    # One chunk: SmolLM2-135M answers more accurately from one chunk than from three (DESIGN.md,
    # "A fair comparison"), and retrieval puts the right page first for nearly every question.
    context_k: int = field(default=1, metadata={"help": "retrieved chunks in a RAG prompt"})
    context_budget: int = field(default=512, metadata={"help": "token budget of the RAG context"})
    # Three worked examples: on the bundled dev split (48 questions, SmolLM2-135M) RAG accuracy was
    # 0.46 / 0.58 / 0.63 / 0.56 with 0 / 1 / 2 / 3 examples and citation precision 0 / 0 / 0.31 /
    # 0.56: three is the only setting where the model cites more often than not (docs/benchmarks.md).
    rag_shots: int = field(default=3, metadata={"help": "worked examples in the RAG prompt (0-3)"})
    rag_layout: str = field(default="auto", metadata={"help": "RAG prompt layout: auto (chat) | completion"})
    max_new_tokens: int = field(default=24, metadata={"help": "answer length cap (tokens)"})
    batch_size: int = field(default=16, metadata={"help": "generation batch size"})
    latency_samples: int = field(default=20, metadata={"help": "questions answered one at a time"})
    hardware: str = field(default="cpu", metadata={"help": "price-table row the costs use"})
    seed: int = field(default=0, metadata={"help": "seed for sampling latency questions"})
    scenarios: str = field(
        default="freshness,forgetting,style,serving",
        metadata={"help": "scenarios run after the comparison ('' = none)"},
    )
    update_version: str = field(default="", metadata={"help": "dataset update applied (default: the first)"})
    unchanged_sample: int = field(
        default=30, metadata={"help": "unchanged questions re-scored after an update"}
    )
    # As many unchanged facts replayed as changed ones learned: without replay, continued training on
    # the changed facts alone moves the adapter away from everything else it knew.
    update_replay: float = field(default=1.0, metadata={"help": "unchanged train questions per changed one"})
    update_epochs: int = field(default=0, metadata={"help": "epochs of the FT update (0 = train.epochs)"})
    forgetting_replay: bool = field(
        default=True, metadata={"help": "also train an adapter with general replay examples"}
    )
    models: str = field(
        default="", metadata={"help": "generators compared, comma-separated (default: train.model only)"}
    )
    # Dev tuning (compare/pipeline/tuning.py): each system's knobs chosen on dev, test scored once. The
    # default grid is small enough for the quick profile; the full profile searches a wider one.
    tune: bool = field(default=True, metadata={"help": "choose each system's knobs on the dev split"})
    # 48 questions: a trial of the RAG prompt costs about 40 s on 2 CPU cores; the interval of a
    # dev accuracy is then about +-0.14, enough to tell the settings apart that matter (0.40 vs 0.83).
    tune_questions: int = field(default=48, metadata={"help": "dev questions per trial (0 = all)"})
    tune_prompts: str = field(
        default="few-shot,one-shot,completion",
        metadata={"help": "RAG prompt variants tried: chat, one-shot, few-shot, completion"},
    )
    tune_k: str = field(default="1,3", metadata={"help": "retrieved chunks tried"})
    tune_budgets: str = field(default="", metadata={"help": "context token budgets tried when k > 1"})
    tune_retrievers: bool = field(default=True, metadata={"help": "choose the retriever by dev MRR@10"})
    # Below 30 answerable dev questions one question moves a dev accuracy by 0.03 or more: a wide grid
    # then picks noise (a real docs folder's 17 dev questions chose a prompt that lost 0.35 on test).
    tune_min_dev: int = field(
        default=30, metadata={"help": "below this many answerable dev questions, one alternative per knob"}
    )
    # Empty: the configured train.lr and a quarter of it (the folklore's direction: lower, safer).
    tune_lrs: str = field(default="", metadata={"help": "adapter learning rates tried (default: lr, lr/4)"})
    # Two epochs tell a learning rate that learns from one that does not at a third of a training's
    # cost; 0 trains every learning rate to the end (the full profile).
    tune_probe_epochs: int = field(
        default=2, metadata={"help": "epochs each lr trains before the best goes on (0 = all)"}
    )
    # Early stopping on dev accuracy, which is scored after every epoch anyway: the adapter stops when
    # this many epochs in a row bring no gain. On the bundled Django pages dev accuracy was best at
    # epoch 1 and the five epochs after the probe cost 8 min. The measured curves of SmolLM2 on
    # tessaline (never two epochs without a gain) and of Gemma 3 270M (two, then its best epochs)
    # run to the end at 3 (docs/benchmarks.md), so their benches stay as they were.
    tune_patience: int = field(
        default=3, metadata={"help": "epochs without a dev-accuracy gain before training stops (0 = off)"}
    )

    # Abstention of the retrieving systems (compare/pipeline/abstain.py): abstain when the quoted
    # text does not support the question (compare/scoring/abstain_signals.py), the signal and its
    # threshold chosen on dev's unanswerable questions so that dev accuracy drops by at most
    # abstain_max_drop (a wrong abstention costs a right answer).
    abstain_gate: bool = field(
        default=True, metadata={"help": "RAG and hybrid abstain below a dev-chosen support"}
    )
    # grounding (compare/scoring/abstain_signals.py) is left out by default: on tessaline it
    # abstained on all 14 unanswerable dev questions at no dev cost, and on test turned 0.144 of rag's
    # accuracy into abstentions (test questions are phrased unlike dev ones); names and support did
    # not cost any.
    abstain_signals: str = field(
        default="support,names", metadata={"help": "support signals dev chooses the gate's from"}
    )
    # Each signal also with the check that the answer is in the chunks it read ("names+quoted"):
    # on tessaline a reader asked for a real product's missing attribute names another value of
    # its page, which the names signal cannot see (compare/scoring/quoting.py); with it rag's test
    # abstention went from 0.30 to 0.70 at the same accuracy. Dev chooses it like any signal. The
    # routed hybrid reads RAG's answers gated by the best plain signal (Resources.part_gates): its
    # own rules make the same chunk check, and a quoted gate would hide the answers its `verify`
    # replaces with the adapter's (docs/benchmarks.md).
    abstain_quoted: bool = field(
        default=True, metadata={"help": "also try each gate signal with the answer-in-its-chunks check"}
    )
    abstain_max_drop: float = field(
        default=0.03, metadata={"help": "dev accuracy the abstention gate may cost (0-1)"}
    )

    # The serving scenario: the closed-book adapter's test accuracy with the base weights at these
    # llamacpp precisions besides the run's own (compare.scenarios.serving).
    serving_precisions: str = field(
        default="shipped,q8_0,q4_0", metadata={"help": "llamacpp weight types the serving scenario tries"}
    )
    # The hybrid's reader (compare/answering/readers.py): the closed-book sft adapter, one trained
    # RAFT-style on train questions with retrieved chunks and cited answers, or the sft adapter
    # trained on further with them (mix); more than one: dev chooses.
    hybrid_readers: str = field(
        default="sft",
        metadata={"help": "adapters the hybrid may read with, chosen on dev: sft, raft, mix, distill"},
    )
    raft_no_oracle: str = field(
        default="memory",
        metadata={"help": "what a RAFT example without its oracle chunk teaches: memory or abstain"},
    )
    mix_epochs: int = field(
        default=1, metadata={"help": "epochs mix and distill train on from the sft adapter"}
    )

    # The routed hybrid (compare/pipeline/route.py): how it picks between RAG's answer, the
    # adapter's and "I don't know"; auto: the rule dev's unanswerable questions choose.
    route: str = field(
        default="auto",
        metadata={"help": "the routed system's rule: auto, rag, judge, fallback, judge+fallback"},
    )

    def __post_init__(self) -> None:
        parse_readers(self.hybrid_readers)
        check_route(self.route)
        if self.raft_no_oracle not in NO_ORACLE:
            raise UserError(f"`raft_no_oracle` must be {' or '.join(NO_ORACLE)}, got {self.raft_no_oracle!r}")
        signals = self.abstain_signal_names
        if not signals or any(x not in SIGNALS for x in signals):
            raise UserError(
                f"`abstain_signals` must list some of {', '.join(SIGNALS)}, got {self.abstain_signals!r}"
            )
        bad = [x for x in self.serving_precision_names if x not in PRECISIONS]
        if bad:
            raise UserError(f"`serving_precisions` has unknown {bad}; choose from {', '.join(PRECISIONS)}")
        if not 0 <= self.abstain_max_drop <= 1:
            raise UserError(f"`abstain_max_drop` must be between 0 and 1, got {self.abstain_max_drop!r}")
        if self.profile not in PROFILES:
            raise UserError(f"`profile` must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if not self.system_names:
            raise UserError("`systems` must name at least one system, e.g. base,rag")
        for name in ("context_k", "context_budget", "max_new_tokens", "batch_size", "mix_epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"`{name}` must be a positive integer, got {getattr(self, name)!r}")
        if not 0 <= self.rag_shots <= 3:
            raise UserError(f"`rag_shots` must be between 0 and 3, got {self.rag_shots!r}")
        unknown = [x for x in self.scenario_names if x not in SCENARIOS]  # compare.scenarios.registry
        if unknown:
            raise UserError(f"`scenarios` has unknown {unknown}; choose from {', '.join(SCENARIOS)}")
        if self.update_replay < 0:
            raise UserError(f"`update_replay` must be >= 0, got {self.update_replay!r}")
        if self.rag_layout not in ("auto", "completion"):
            raise UserError(f"`rag_layout` must be auto or completion, got {self.rag_layout!r}")
        self._check_grids()
        for name in ("facts", "latency_samples", "unchanged_sample", "update_epochs", "tune_questions",
                     "tune_probe_epochs", "tune_min_dev", "tune_patience"):  # fmt: skip
            if getattr(self, name) < 0:
                raise UserError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")

    def _check_grids(self) -> None:
        prompts = [p.strip() for p in self.tune_prompts.split(",") if p.strip()]
        unknown = [p for p in prompts if p not in PROMPT_VARIANTS]
        if unknown:
            raise UserError(
                f"`tune_prompts` has unknown {unknown}; choose from {', '.join(PROMPT_VARIANTS)}."
            )
        for name, cast, ok in (("tune_k", int, lambda v: v >= 1), ("tune_budgets", int, lambda v: v >= 1),
                               ("tune_lrs", float, lambda v: 0 < v < 1)):  # fmt: skip
            for item in (x.strip() for x in getattr(self, name).split(",") if x.strip()):
                try:
                    good = ok(cast(item))
                except ValueError:
                    good = False
                if not good:
                    raise UserError(f"`{name}` has a bad value {item!r}; give a comma-separated list")

    @property
    def abstain_signal_names(self) -> list[str]:
        return [x.strip() for x in self.abstain_signals.split(",") if x.strip()]

    @property
    def serving_precision_names(self) -> list[str]:
        return [p.strip() for p in self.serving_precisions.split(",") if p.strip()]

    @property
    def scenario_names(self) -> list[str]:
        return [s.strip() for s in self.scenarios.split(",") if s.strip() and s.strip() != "none"]

    @property
    def model_names(self) -> list[str]:
        return list(dict.fromkeys(m.strip() for m in self.models.split(",") if m.strip()))

    @property
    def system_names(self) -> list[str]:
        return [s.strip() for s in self.systems.split(",") if s.strip()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
