"""A fused training forward for Llama-architecture models with LoRA adapters.

The Hugging Face forward runs every projection as its own matmul and every LoRA adapter as two
more, small ones (42 of the 56 matmuls per layer and step for LoRA on all seven projections;
such small matmuls run at about a quarter of the machine's matmul rate). Here, per layer:

- q/k/v and gate/up each run as one matmul, and each adapter's A matrix rides in the same
  matmul as the frozen weight it belongs to (extra output columns), so the adapter costs a B
  matmul in the forward and three small ones in the backward;
- the frozen weights get no weight gradient (a custom autograd function computes only the input
  gradient and the adapters' gradients);
- a prefix shared by every row of the batch (the chat template's system turn) is computed once,
  in the same matmuls as the rows' own tokens, instead of as a separate batch-of-one pass;
- attention stacks the query heads that share a key head (keys are never repeated), and the
  last layer runs its output projection and MLP only where a loss is read;
- the large matmuls go through a pluggable kernel (``pick_linear``: oneDNN on CPU).

Same numbers as the Hugging Face forward up to float rounding (``tests/finetune/test_ft_fused.py``
checks loss and every adapter gradient). It applies to plain LoRA on a Llama-architecture model
in one process (``fusable`` says why not otherwise); the trainer falls back to the generic path.
The frozen weights are re-pointed into one buffer per group, so training holds no second copy;
making the buffers once at start still raises the process's peak RSS (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from corpus.errors import UserError

Linear = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, w) -> x @ w.T


def torch_linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x @ w.t()


def onednn_linear() -> Linear | None:
    """oneDNN's linear from this torch build (``x @ w.T`` in the inputs' dtype), or None.

    PyTorch sends an fp32 ``mm`` on CPU to MKL, which takes its AVX2 path on AMD CPUs; oneDNN
    uses AVX-512 there: 2.2x the fp32 matmul rate on the 2-core AMD Zen 5 box for the fused
    projections and 2.5x for the vocabulary head, same precision (docs/benchmarks.md). It is the
    op inductor emits for CPU linears; small matmuls (the adapters' B) stay with MKL, which is
    as fast or faster there.
    """
    try:
        op = torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None
    if not torch.backends.mkldnn.is_available():
        return None
    return lambda x, w: op(x, w, None, "none", [], "")


def pick_linear(kind: str, device: str) -> tuple[str, Linear]:
    """The kernel named by ``TrainConfig.matmul`` for ``device``: (its name, the function). For
    ``onednn-bf16`` the function is oneDNN's float32 linear; :class:`FusedLlama` gives each weight
    its own :class:`Bf16Weights` around it."""
    if kind == "torch" or (kind == "auto" and device != "cpu"):
        return "torch", torch_linear
    op = onednn_linear() if device == "cpu" else None
    if op is None:
        if kind in ("onednn", "onednn-bf16"):
            raise UserError(
                f"`matmul` {kind}: no oneDNN linear on {device} in this torch build; use --matmul torch"
            )
        return "torch", torch_linear
    return ("onednn-bf16" if kind == "onednn-bf16" else "onednn"), op


class Bf16Weights:
    """A weight's large matmuls in bfloat16 (mixed precision, as autocast does): the input is
    rounded to bf16 and the result returned in float32; the adapters, their gradients and the
    optimizer stay float32. On a CPU with native bf16 (AVX512-BF16, AMX) such a matmul runs at
    about twice the float32 rate. The weight's bf16 copies are made once: ``forward`` (``w``
    itself) and ``backward`` (its first ``frozen`` rows transposed, what the input gradient
    multiplies by); :meth:`refresh` copies the rows past ``frozen`` (the adapters' A rows, which
    change every step) again."""

    def __init__(self, op: Linear, w: torch.Tensor, frozen: int):
        self.op, self.w, self.frozen = op, w, frozen
        self.forward = w.detach().to(torch.bfloat16)
        self.backward = w.detach()[:frozen].t().contiguous().to(torch.bfloat16)

    def refresh(self) -> None:
        with torch.no_grad():
            self.forward[self.frozen :].copy_(self.w[self.frozen :])

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # the fused functions pass the weight itself (contiguous) or its frozen rows transposed
        low = self.forward if w.is_contiguous() else self.backward
        if low.shape != w.shape:
            raise ValueError(f"Bf16Weights of a {tuple(self.w.shape)} weight given {tuple(w.shape)}")
        return self.op(x.to(torch.bfloat16), low).to(x.dtype)


GROUPS = (("self_attn", ("q_proj", "k_proj", "v_proj")), ("self_attn", ("o_proj",)),
          ("mlp", ("gate_proj", "up_proj")), ("mlp", ("down_proj",)))  # fmt: skip


class _FusedLinear(torch.autograd.Function):
    """``x @ [W; A]^T``, then ``+ s * H_j @ B_j^T`` per adapter; no gradient for the frozen ``W``.

    Inputs: ``x`` [M, in], ``wcat`` [sum(out) + k*r, in] (frozen rows, then the adapters' A rows,
    kept equal to the A parameters by the caller), the column range of each adapter's output,
    the scaling, the kernel for the two large matmuls, and the A and B parameters (A is passed
    for its gradient only).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, wcat: torch.Tensor, spans: tuple[tuple[int, int], ...],
                n_out: int, scaling: float, linear: Linear, *ab: torch.Tensor) -> torch.Tensor:  # fmt: skip
        k = len(spans)
        a_s, b_s = ab[:k], ab[k:]
        z = linear(x, wcat)
        y, h = z[:, :n_out], z[:, n_out:]
        r = a_s[0].shape[0]
        for j, ((lo, hi), b) in enumerate(zip(spans, b_s, strict=True)):
            y[:, lo:hi].addmm_(h[:, j * r : (j + 1) * r], b.t(), alpha=scaling)
        # saved pre-scaled (a new tensor either way, so h need not keep all of z alive)
        ctx.save_for_backward(x, wcat, h * scaling, *(b * scaling for b in b_s))
        ctx.spans, ctx.n_out, ctx.r, ctx.linear = spans, n_out, r, linear
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        x, wcat, hs, *bs = ctx.saved_tensors
        spans, r = ctx.spans, ctx.r
        gh = torch.empty(g.shape[0], len(spans) * r, dtype=g.dtype, device=g.device)
        grad_b = []
        for j, ((lo, hi), b) in enumerate(zip(spans, bs, strict=True)):
            gj = g[:, lo:hi]
            torch.mm(gj, b, out=gh[:, j * r : (j + 1) * r])  # s * g_j @ B_j
            grad_b.append(gj.t() @ hs[:, j * r : (j + 1) * r])  # s * g_j^T @ H_j
        grad_x = None
        if ctx.needs_input_grad[0]:  # g @ W + gh @ A, without concatenating g and gh
            grad_x = ctx.linear(g, wcat[: ctx.n_out].t()).addmm_(gh, wcat[ctx.n_out :])
        grad_a = list((gh.t() @ x).split(r))
        return (grad_x, None, None, None, None, None, *grad_a, *grad_b)


class _FrozenLinear(torch.autograd.Function):
    """``x @ w.T`` for a frozen ``w``: the input gradient only, both through ``linear``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, linear: Linear) -> torch.Tensor:
        ctx.save_for_backward(w)
        ctx.linear = linear
        return linear(x, w)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        (w,) = ctx.saved_tensors
        return (ctx.linear(g, w.t()) if ctx.needs_input_grad[0] else None), None, None


@dataclass
class Group:
    """Projections that share an input, with their frozen weights fused into one buffer."""

    wcat: torch.Tensor  # [sum(out) + k*r, in]
    splits: list[int]  # each projection's output width
    spans: tuple[tuple[int, int], ...]  # output columns of the adapted projections
    a: list[torch.nn.Parameter]
    b: list[torch.nn.Parameter]
    scaling: float
    linear: Linear

    @property
    def n_out(self) -> int:
        """Rows of ``wcat`` that are frozen weights (the adapters' A rows follow)."""
        return sum(self.splits)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.a:
            return _FrozenLinear.apply(x, self.wcat, self.linear)
        with torch.no_grad():  # the A parameters changed at the last optimizer step
            torch.cat([a.detach() for a in self.a], out=self.wcat[self.n_out :])
        if isinstance(self.linear, Bf16Weights):
            self.linear.refresh()
        return _FusedLinear.apply(x, self.wcat, self.spans, self.n_out, self.scaling, self.linear,
                                  *self.a, *self.b)  # fmt: skip


def _lora_parts(module: Any) -> tuple[torch.nn.Linear, Any]:
    """The frozen linear and, if wrapped by PEFT LoRA, the wrapper (else None)."""
    if hasattr(module, "base_layer") and hasattr(module, "lora_A"):
        return module.base_layer, module
    return module, None


def fusable(model: Any) -> str | None:
    """Why ``model`` cannot take the fused path (None when it can)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    if type(inner).__name__ != "LlamaForCausalLM":
        return f"{type(inner).__name__} is not a Llama-architecture model"
    cfg = inner.config
    if getattr(cfg, "pretraining_tp", 1) != 1 or cfg.hidden_act != "silu":
        return "pretraining_tp or activation differs from Llama's defaults"
    for layer in inner.model.layers:
        for parent, names in GROUPS:
            for name in names:
                base, lora = _lora_parts(getattr(getattr(layer, parent), name))
                if type(base) is not torch.nn.Linear or base.bias is not None:
                    return f"{name} is not a plain bias-free linear layer (quantised?)"
                if lora is None:
                    continue
                if list(lora.lora_A) != ["default"] or lora.merged or lora.disable_adapters:
                    return "the adapter is merged, disabled, or there are several"
                if not isinstance(lora.lora_dropout["default"], torch.nn.Identity):
                    return "LoRA dropout is on (the A matmul cannot share the frozen one's input)"
                if getattr(lora, "use_dora", {}).get("default", False):
                    return "DoRA is on"
                if lora.lora_A["default"].weight.dtype != base.weight.dtype:  # PEFT keeps fp32
                    return f"the adapter's dtype differs from the base's ({base.weight.dtype})"
    return None


def _group(modules: list[Any], linear: Linear, bf16: bool = False) -> Group:
    parts = [_lora_parts(m) for m in modules]
    splits = [base.out_features for base, _ in parts]
    adapted = [(i, lora) for i, (_, lora) in enumerate(parts) if lora is not None]
    scales = {float(lora.scaling["default"]) for _, lora in adapted}
    if len(scales) > 1:
        raise ValueError("adapters of one group with different scalings")
    a = [lora.lora_A["default"].weight for _, lora in adapted]
    b = [lora.lora_B["default"].weight for _, lora in adapted]
    first = parts[0][0].weight
    rows = sum(splits) + sum(x.shape[0] for x in a)
    wcat = torch.empty(rows, first.shape[1], dtype=first.dtype, device=first.device)
    at = 0
    for base, _ in parts:  # the frozen weights become views into the buffer: no second copy
        n = base.out_features
        wcat[at : at + n].copy_(base.weight.detach())
        base.weight.data = wcat[at : at + n]
        at += n
    starts = [sum(splits[:i]) for i in range(len(splits))]
    spans = tuple((starts[i], starts[i] + splits[i]) for i, _ in adapted)
    if bf16:  # after the frozen weights are in the buffer (the A rows are copied on every call)
        linear = Bf16Weights(linear, wcat, sum(splits))
    return Group(wcat, splits, spans, a, b, scales.pop() if scales else 1.0, linear)


class FusedLlama:
    """The fused forward of one (PEFT-wrapped) Llama model; build once, after ``.to(device)``.

    ``linear`` runs the large matmuls (the fused projections, their input gradients and the
    vocabulary head): ``onednn_linear()`` on CPU where it exists, else ``torch_linear``; with
    ``bf16``, each weight through its own :class:`Bf16Weights` around it.
    """

    def __init__(self, model: Any, linear: Linear = torch_linear, bf16: bool = False):
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.body, self.head = inner.model, inner.lm_head
        cfg = inner.config
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        w = self.head.weight
        self.linear = Bf16Weights(linear, w, w.shape[0]) if bf16 and not w.requires_grad else linear
        self.layers = []
        for layer in self.body.layers:
            groups = [
                _group([getattr(getattr(layer, p), n) for n in names], linear, bf16) for p, names in GROUPS
            ]
            self.layers.append((layer, groups))

    def hidden(self, ids: torch.Tensor, prefix: int, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden states before the final norm, of the flat rows: the ``prefix`` shared
        positions once, then every row's rest ([prefix + b * (w - prefix), d]); with ``rows``
        (flat row indices) only those, and the last layer runs its output projection and
        MLP on them alone (nothing after it reads the others)."""
        b, w = ids.shape
        p, t = prefix, w - prefix
        flat = torch.cat([ids[0, :p], ids[:, p:].reshape(-1)])
        x = self.body.embed_tokens(flat)
        pos = torch.arange(w, device=ids.device)
        cos, sin = self.body.rotary_emb(x, pos[None])
        at = torch.cat([pos[:p], pos[p:].repeat(b)])  # each flat row's position
        cos, sin = cos[0, at, None], sin[0, at, None]  # [rows, 1, head_dim]
        masks = _masks(p, t, self.heads // self.kv_heads, ids.device)
        last = len(self.layers) - 1
        for i, (layer, (qkv, o, gate_up, down)) in enumerate(self.layers):
            att = self._attention(qkv(layer.input_layernorm(x)), b, p, t, cos, sin, masks, layer)
            if i == last and rows is not None:
                x, att = x[rows], att[rows]
            x = x + o(att)
            g, u = gate_up(layer.post_attention_layernorm(x)).split(gate_up.splits, 1)
            x = x + down(F.silu(g) * u)
        return x

    def _attention(self, qkv: torch.Tensor, b: int, p: int, t: int, cos: torch.Tensor, sin: torch.Tensor,
                   masks: tuple[torch.Tensor, torch.Tensor], layer: Any) -> torch.Tensor:  # fmt: skip
        """Causal attention of the flat rows: the prefix on its own, every row's rest on the
        prefix and itself (right padding needs no mask: padded keys come after every real query)."""
        hd, nq, nk = self.head_dim, self.heads, self.kv_heads
        n_qk = (nq + nk) * hd
        qk = _rope(qkv[:, :n_qk].view(-1, nq + nk, hd), cos, sin)  # q and k rotated in one go
        q, k, v = qk[:, :nq], qk[:, nq:], qkv[:, n_qk:].view(-1, nk, hd)
        scale = float(layer.self_attn.scaling)
        kp, vp = k[:p].transpose(0, 1)[None], v[:p].transpose(0, 1)[None]  # [1, nk, p, hd]
        kt = k[p:].view(b, t, nk, hd).transpose(1, 2)
        vt = v[p:].view(b, t, nk, hd).transpose(1, 2)
        keys = torch.cat([kp.expand(b, -1, -1, -1), kt], 2) if p else kt
        values = torch.cat([vp.expand(b, -1, -1, -1), vt], 2) if p else vt
        rest = _grouped_attention(q[p:].view(b, t, nq, hd), keys, values, masks[1], scale)
        if not p:
            return rest
        head = _grouped_attention(q[:p].view(1, p, nq, hd), kp, vp, masks[0], scale)
        return torch.cat([head, rest])

    def answer_hidden(self, batch: dict[str, torch.Tensor], prefix: int, keep: torch.Tensor) -> torch.Tensor:
        """Final-norm hidden states at the positions whose next token is supervised (``keep``:
        [b, w - 1] bool), in row-major order."""
        ids = batch["input_ids"]
        w = ids.shape[1]
        rows, cols = keep.nonzero(as_tuple=True)
        at = torch.where(cols < prefix, cols, prefix + rows * (w - prefix) + cols - prefix)
        return self.body.norm(self.hidden(ids, prefix, at))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The vocabulary head on ``hidden`` (its weight is frozen: input gradient only)."""
        w = self.head.weight
        if w.requires_grad or getattr(self.head, "bias", None) is not None:
            return self.head(hidden)
        return _FrozenLinear.apply(hidden, w, self.linear)


def _masks(p: int, t: int, groups: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed (query, key) pairs of the prefix ([p, p]) and of every row's rest ([t, p + t]),
    repeated for the query heads that share a key head."""
    head = torch.ones(p, p, dtype=torch.bool, device=device).tril()
    rest = torch.ones(t, p + t, dtype=torch.bool, device=device).tril(p)
    return head.repeat(groups, 1), rest.repeat(groups, 1)


def _grouped_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor,
                       scale: float) -> torch.Tensor:  # fmt: skip
    """Attention with the query heads that share a key/value head stacked along the sequence, so
    keys and values are never repeated (faster than SDPA at these sizes on CPU); softmax in fp32
    as in the Hugging Face eager kernel. q: [b, t, nq, hd]; k, v: [b, nk, s, hd] -> [b * t, nq * hd]."""
    b, t, nq, hd = q.shape
    nk = k.shape[1]
    g = nq // nk
    qg = q.view(b, t, nk, g, hd).permute(0, 2, 3, 1, 4).reshape(b, nk, g * t, hd)
    scores = (qg @ k.transpose(-1, -2)) * scale
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1, dtype=torch.float32).to(q.dtype)
    out = (weights @ v).view(b, nk, g, t, hd).permute(0, 3, 1, 2, 4)
    return out.reshape(b * t, nq * hd)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding as in Hugging Face Llama (``rotate_half``); x: [rows, heads, head_dim]."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin
