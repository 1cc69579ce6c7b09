"""The fused Llama training forward gives the loss and adapter gradients of the generic path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finetune.config import TrainConfig
from finetune.fused import Bf16Weights, FusedLlama, fusable, onednn_linear, pick_linear, torch_linear
from finetune.loss import answer_loss
from finetune.train import collate
from tests.finetune.test_ft_train import make_trainer

ALL = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    return grads


KERNELS = {"torch": torch_linear, "onednn": onednn_linear()}


@pytest.mark.parametrize(
    ("targets", "prefix", "kernel"),
    [(ALL, None, "onednn"), (ALL, 0, "torch"), ("q_proj,v_proj,down_proj", None, "torch"),
     ("k_proj,up_proj", 0, "onednn"), ("o_proj", None, "torch"), (ALL, None, "torch")],
)  # fmt: skip
def test_fused_matches_the_generic_path(
    tiny_tokenizer, tmp_path: Path, targets: str, prefix: int | None, kernel: str
) -> None:
    if KERNELS[kernel] is None:
        pytest.skip("this torch build has no oneDNN linear")
    tr = make_trainer(tiny_tokenizer, tmp_path, target_modules=targets)
    for name, p in tr.model.named_parameters():
        if "lora_B" in name:  # non-zero adapters, so gradients reach lora_A
            torch.nn.init.normal_(p, std=0.1)
    batch = collate(tr.data.examples[:3], tr.pad_id, "cpu")
    ref, n = answer_loss(tr.model, batch, prefix=prefix)
    ref.backward()
    theirs = _grads(tr.model)
    assert fusable(tr.model) is None
    fused = FusedLlama(tr.model, KERNELS[kernel])
    ours, m = answer_loss(tr.model, batch, prefix=prefix, fused=fused)
    ours.backward()
    mine = _grads(tr.model)
    assert m == n
    assert float(ours) == pytest.approx(float(ref), rel=1e-5)
    assert mine.keys() == theirs.keys()
    for k in mine:
        assert torch.allclose(mine[k], theirs[k], atol=1e-5), k
    assert any(float(mine[k].abs().max()) > 0 for k in mine if "lora_A" in k)


def _adapter(tr) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in tr.model.named_parameters() if p.requires_grad}


def test_training_fused_reaches_the_generic_weights(tiny_tokenizer, tmp_path: Path) -> None:
    """Whole runs (optimizer, schedule, grad accumulation, dev loss) agree to float rounding."""
    kw = {"target_modules": ALL, "epochs": 2, "grad_accum": 2}
    fused = make_trainer(tiny_tokenizer, tmp_path / "a", **kw)
    generic = make_trainer(tiny_tokenizer, tmp_path / "b", fused=False, **kw)
    a, b = fused.fit(progress=False), generic.fit(progress=False)
    assert a["fused"] and a["fused_off"] is None and a["attention"] == "fused" and a["matmul"]
    assert not b["fused"] and b["fused_off"] == "`fused` is off"
    for (_, x), (_, y) in zip(a["dev_loss"], b["dev_loss"], strict=True):
        assert x == pytest.approx(y, abs=1e-4)
    wa, wb = _adapter(fused), _adapter(generic)
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)
    assert any(not torch.equal(wa[k], torch.zeros_like(wa[k])) for k in wa if "lora_B" in k)


def test_fusing_keeps_the_model_itself_unchanged(tiny_tokenizer, tmp_path: Path) -> None:
    """The frozen weights move into the fused buffers as views: the model's own forward (used
    for generation) gives the same logits, and no weight is copied twice."""
    tr = make_trainer(tiny_tokenizer, tmp_path, fused=False, target_modules=ALL)
    batch = collate(tr.data.examples[:2], tr.pad_id, "cpu")
    with torch.no_grad():
        before = tr.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    fused = FusedLlama(tr.model)
    with torch.no_grad():
        after = tr.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.equal(before, after)
    layer, (qkv, *_rest) = fused.layers[0]
    q = layer.self_attn.q_proj.base_layer.weight
    assert q.untyped_storage().data_ptr() == qkv.wcat.untyped_storage().data_ptr()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"fused": False}, "`fused` is off"),
        ({"attention": "eager"}, "`attention` eager was asked for"),
        ({"dropout": 0.1}, "LoRA dropout is on"),
    ],
)
def test_generic_path_where_fusing_does_not_apply(tiny_tokenizer, tmp_path: Path, overrides: dict,
                                                  reason: str) -> None:  # fmt: skip
    tr = make_trainer(tiny_tokenizer, tmp_path, **overrides)
    assert tr.dist.fused is None and tr.fused_off is not None and tr.fused_off.startswith(reason)
    assert tr.card()["fused"] is False


def test_fusable_names_what_is_missing(tiny_tokenizer) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=32))
    assert fusable(gpt2) == "GPT2LMHeadModel is not a Llama-architecture model"
    from tests.finetune.test_ft_train import tiny_llama

    llama = tiny_llama(len(tiny_tokenizer))
    llama.model.layers[1].mlp.up_proj = torch.nn.Linear(32, 64, bias=True)
    assert fusable(llama) == "up_proj is not a plain bias-free linear layer (quantised?)"


def test_a_bf16_base_with_fp32_adapters_takes_the_generic_path(tiny_tokenizer, tmp_path: Path) -> None:
    """PEFT keeps adapters in fp32 beside a bf16 base and computes them in fp32; the fused path
    would round A to bf16, so it steps aside."""
    from finetune.train import AdapterTrainer
    from tests.finetune.test_ft_train import tiny_dataset, tiny_llama

    cfg = TrainConfig(model="tiny", r=4, alpha=8, epochs=1, batch_size=2, device="cpu")
    model = tiny_llama(len(tiny_tokenizer)).to(torch.bfloat16)
    tr = AdapterTrainer(cfg, tiny_dataset(), tmp_path, model=model, tokenizer=tiny_tokenizer)
    assert tr.dist.fused is None and "the adapter's dtype differs" in tr.fused_off
    assert tr.fit(progress=False)["finished"]


def test_matmul_kernel_choice(monkeypatch) -> None:
    assert pick_linear("torch", "cpu")[0] == "torch" and pick_linear("auto", "cuda:0")[0] == "torch"
    if onednn_linear() is not None:
        assert pick_linear("auto", "cpu")[0] == "onednn" and pick_linear("onednn", "cpu")[0] == "onednn"
    monkeypatch.setattr("finetune.fused.onednn_linear", lambda: None)
    assert pick_linear("auto", "cpu")[0] == "torch"
    with pytest.raises(ValueError, match=r"`matmul` onednn: no oneDNN linear on cpu .*--matmul torch"):
        pick_linear("onednn", "cpu")


needs_onednn = pytest.mark.skipif(onednn_linear() is None, reason="this torch build has no oneDNN linear")


@needs_onednn
def test_bf16_weights_round_the_matmul_and_refresh_only_the_adapter_rows() -> None:
    """x @ w.T (forward) and g @ w[:frozen] (input gradient) to bf16 rounding, float32 out; the
    rows past ``frozen`` (the adapters' A rows) follow the weight after ``refresh``."""
    name, op = pick_linear("onednn-bf16", "cpu")
    assert name == "onednn-bf16"
    torch.manual_seed(0)
    x, w = torch.randn(5, 64), torch.randn(24, 64)
    low = Bf16Weights(op, w, 20)

    def rounded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a.bfloat16().float() @ b.bfloat16().float().t()

    out = low(x, w)
    assert out.dtype == torch.float32 and torch.allclose(out, rounded(x, w), rtol=1e-2, atol=1e-2)
    assert not torch.equal(out, x @ w.t())  # rounded: not the float32 kernel
    g = torch.randn(5, 20)
    assert torch.allclose(low(g, w[:20].t()), rounded(g, w[:20].t()), rtol=1e-2, atol=1e-2)
    with torch.no_grad():
        w[20:] += 1.0  # an optimizer step on the adapter rows
    assert not torch.allclose(low(x, w)[:, 20:], rounded(x, w)[:, 20:], atol=0.5)  # not yet seen
    low.refresh()
    assert torch.allclose(low(x, w), rounded(x, w), rtol=1e-2, atol=1e-2)
    with pytest.raises(ValueError, match="given"):
        low(x, torch.randn(24, 64)[:, :32])


@needs_onednn
def test_bf16_matmul_training_stays_near_float32(tiny_tokenizer, tmp_path: Path) -> None:
    """Whole runs with the large matmuls in bf16 end near the float32 run's dev losses, and the
    adapters learn (their A rows reach the bf16 copies every step)."""
    kw = {"target_modules": ALL, "epochs": 3}
    f32 = make_trainer(tiny_tokenizer, tmp_path / "a", **kw)
    bf16 = make_trainer(tiny_tokenizer, tmp_path / "b", matmul="onednn-bf16", **kw)
    a, b = f32.fit(progress=False), bf16.fit(progress=False)
    assert (a["matmul"], b["matmul"]) == ("onednn", "onednn-bf16") and b["fused"]
    for (_, x), (_, y) in zip(a["dev_loss"], b["dev_loss"], strict=True):
        assert y == pytest.approx(x, rel=0.05) and x != y
    assert b["dev_loss"][-1][1] < b["dev_loss"][0][1]
