"""The fine-tune track's one config dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from corpus.errors import UserError

METHODS = ("auto", "lora", "qlora")
ABSTAIN = ("all", "answered-wordings", "none")
# The fused path's matmul kernels (finetune/fused.py: pick_linear); onednn-bf16 rounds the large
# matmuls' inputs to bfloat16 (mixed precision), everything else stays float32.
MATMULS = ("auto", "onednn", "onednn-bf16", "torch")
DEFAULT_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


# Presets list only what differs from the TrainConfig defaults. "quick": the benchmark's quick profile
# (20 products of the bundled dataset on 2 CPU cores, about 5 minutes of training).
# A dev pass costs half a training pass per example, and the bundled dev split is 58% the size of
# the train split, so the quick profile scores a 64-example sample each epoch.
PROFILES: dict[str, dict[str, object]] = {"quick": {"dev_limit": 64}}


@dataclass(frozen=True)
class TrainConfig:
    """How the adapter is trained.

    Defaults are for knowledge injection into a small model: LoRA on every projection (attention
    alone stores facts poorly), a learning rate well above the 1e-5..5e-5 folklore (adapters with
    a small rank need it; `ftrag sweep` measures the trade-off), and several epochs, because a fact
    seen in two phrasings needs repetition before a third phrasing retrieves it.
    """

    model: str = field(
        default="smollm2-135m",
        metadata={"help": "registered model name, model folder, or hub id in the local Hugging Face cache"},
    )
    method: str = field(default="auto", metadata={"help": "auto (QLoRA on CUDA, LoRA on CPU) | lora | qlora"})
    r: int = field(default=16, metadata={"help": "LoRA rank"})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)"})
    dropout: float = field(default=0.0, metadata={"help": "LoRA dropout"})
    target_modules: str = field(default=DEFAULT_TARGETS, metadata={"help": "comma-separated module names"})
    # Smaller batches, more optimizer steps: binding a value to its product needs steps more than
    # large batches (quick-profile measurements in docs/benchmarks.md).
    lr: float = field(default=2e-3, metadata={"help": "peak learning rate"})
    epochs: int = field(default=7, metadata={"help": "passes over the training examples"})
    batch_size: int = field(default=8, metadata={"help": "examples per micro-batch"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step"})
    max_length: int = field(default=128, metadata={"help": "tokens per example; longer ones are reported"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "share of steps with linear warm-up"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    seed: int = field(default=0, metadata={"help": "seed for init, data order and dropout"})
    dev_limit: int = field(
        default=0, metadata={"help": "dev examples scored each epoch, a seeded sample (0 = all)"}
    )
    patience: int = field(
        default=0, metadata={"help": "stop after this many epochs without dev-loss gain (0 = off)"}
    )
    checkpoint_every: int = field(
        default=0, metadata={"help": "save a resumable checkpoint every N steps (0 = epochs)"}
    )
    include_docs: bool = field(default=False, metadata={"help": "also train on the pages (continuation)"})
    # answered-wordings: the bundled generator words some unanswerable train questions in the
    # held-out wordings; trained on, they teach "this wording means I don't know" (see data.py).
    abstain: str = field(
        default="answered-wordings",
        metadata={"help": "unanswerable train questions to learn from: all | answered-wordings | none"},
    )
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda"})
    # auto: bf16 on CUDA, fp32 on CPU. On a CPU with native bf16 (AVX512-BF16 or AMX) bfloat16
    # trains the quick profile 1.8x faster, but its adapter answered fewer test questions (0.468 vs
    # 0.577 in the quick bench, docs/benchmarks.md), so it is opt-in there.
    dtype: str = field(default="auto", metadata={"help": "auto | float32 | bfloat16"})
    # auto: the model's own kernel (SDPA). At tens of tokens per example eager is as fast in fp32
    # on CPU (302 vs 301 tokens/s) and faster in bf16 (702 vs 503), so it is there to opt into.
    attention: str = field(
        default="auto", metadata={"help": "training attention kernel: auto | eager | sdpa"}
    )
    # The chat prefix every example shares runs once per batch (same loss and gradients, tested):
    # 6% more tokens/s in fp32 on CPU; off, every row runs whole (bench/train_perf.py measures both).
    share_prefix: bool = field(default=True, metadata={"help": "run the shared chat prefix once per batch"})
    # Llama-architecture models train through finetune/fused.py (q/k/v and gate/up in one matmul
    # each, the adapters' A matrices inside the frozen matmuls, the prefix in the same matmuls):
    # same loss and gradients (tested), more tokens/s (docs/benchmarks.md). It needs one process,
    # plain LoRA without dropout and `attention` auto; elsewhere the generic path runs.
    fused: bool = field(default=True, metadata={"help": "fused LoRA training forward for Llama models"})
    # The fused path's large matmuls. auto: oneDNN on CPU where this torch build has it (fp32 at
    # 2.2x MKL's rate on the AMD Zen 5 box, where MKL takes its AVX2 path), torch's own elsewhere.
    # onednn-bf16 (opt-in): the same in bf16 with float32 results, 1.45-1.55x the tokens/s on that
    # box (AVX512-BF16); the adapter it trains scores differently (quick bench: ft +0.09, hybrid
    # -0.11, docs/benchmarks.md), so float32 stays the default.
    matmul: str = field(
        default="auto", metadata={"help": "fused path's matmul kernel: " + " | ".join(MATMULS)}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "run Python code shipped with the model folder (off: a security risk)"},
    )
    threads: int = field(default=0, metadata={"help": "CPU threads (0 = all cores)"})
    # Data knobs measured by `ftrag sweep`; the defaults train on every train example unchanged.
    fact_fraction: float = field(
        default=1.0, metadata={"help": "share of the training facts kept, a seeded sample (1 = all)"}
    )
    corrupt_fraction: float = field(
        default=0.0,
        metadata={"help": "share of training answers replaced by a wrong answer of the same kind (0 = none)"},
    )
    phrasings: int = field(default=0, metadata={"help": "train phrasings kept per fact (0 = all)"})

    def __post_init__(self) -> None:
        positive = ("r", "alpha", "epochs", "batch_size", "grad_accum", "max_length")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"`{name}` must be a positive integer, got {value!r}")
        if self.abstain not in ABSTAIN:
            raise UserError(f"`abstain` must be one of {', '.join(ABSTAIN)}, got {self.abstain!r}")
        if self.method not in METHODS:
            raise UserError(f"`method` must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 0 < self.lr < 1:
            raise UserError(f"`lr` must be in (0, 1), got {self.lr!r}")
        if self.matmul not in MATMULS:
            raise UserError(f"`matmul` must be one of {', '.join(MATMULS)}, got {self.matmul!r}")
        if self.attention not in ("auto", "eager", "sdpa"):
            raise UserError(f"`attention` must be auto, eager or sdpa, got {self.attention!r}")
        if not 0 <= self.dropout < 1:
            raise UserError(f"`dropout` must be in [0, 1), got {self.dropout!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise UserError(f"`warmup_ratio` must be in [0, 1), got {self.warmup_ratio!r}")
        if not self.targets:
            raise UserError("`target_modules` must name at least one module, e.g. q_proj,v_proj")
        if not 0 < self.fact_fraction <= 1:
            raise UserError(f"`fact_fraction` must be in (0, 1], got {self.fact_fraction!r}")
        if not 0 <= self.corrupt_fraction < 1:
            raise UserError(f"`corrupt_fraction` must be in [0, 1), got {self.corrupt_fraction!r}")
        for name in ("patience", "checkpoint_every", "threads", "dev_limit", "phrasings"):
            if getattr(self, name) < 0:
                raise UserError(f"`{name}` must be >= 0, got {getattr(self, name)!r}")

    @property
    def targets(self) -> list[str]:
        return [t.strip() for t in self.target_modules.split(",") if t.strip()]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
