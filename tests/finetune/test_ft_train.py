"""The training loop on a tiny randomly initialised Llama: loss math, LoRA wiring, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from corpus.errors import DataError
from corpus.model import Dataset, Document, QAItem
from finetune.config import TrainConfig
from finetune.data import IGNORE
from finetune.lora import resolve_method
from finetune.loss import answer_loss, shared_prefix_len
from finetune.train import (
    AdapterTrainer,
    collate,
    epoch_batches,
    out_of_memory,
    sample,
)


def tiny_llama(vocab: int) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)  # fmt: skip
    return LlamaForCausalLM(cfg)


def tiny_dataset() -> Dataset:
    doc = Document("p", "brisil 40 pro", "the battery of brisil 40 pro does last 94 hours .")
    qa = [
        QAItem(f"f.t{i}", q, "94 hours", sources=("p",), split=s)
        for i, (q, s) in enumerate(
            [("how long does the battery of brisil 40 pro last ?", "train"),
             ("what is the battery of brisil 40 pro ?", "train"),
             ("how long does brisil 40 pro last ?", "dev"),
             ("battery of brisil 40 pro ?", "test")]
        )
    ] + [QAItem("u.0", "who designed it ?", "i don't know", split="train", kind="unanswerable")]  # fmt: skip
    return Dataset("tiny", {"p": doc}, qa, meta={"house_style": {"template": "{answer} -- tessaline care"}})


def make_trainer(tok, out: Path, **overrides) -> AdapterTrainer:
    base = {"model": "tiny", "r": 4, "alpha": 8, "lr": 5e-3, "epochs": 3, "batch_size": 2, "device": "cpu",
            "target_modules": "q_proj,v_proj,down_proj"}  # fmt: skip
    cfg = TrainConfig(**{**base, **overrides})
    return AdapterTrainer(cfg, tiny_dataset(), out, model=tiny_llama(len(tok)), tokenizer=tok)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    return grads


def test_answer_loss_matches_the_full_logits_loss(tiny_tokenizer, tmp_path: Path) -> None:
    """Shared prefix + answer-only logits give the loss and gradients of the plain full pass."""
    tr = make_trainer(tiny_tokenizer, tmp_path)
    for name, p in tr.model.named_parameters():
        if "lora_B" in name:  # non-zero adapters, so gradients reach lora_A and the prefix cache
            torch.nn.init.normal_(p, std=0.1)
    batch = collate(tr.data.examples[:3], tr.pad_id, "cpu")
    assert shared_prefix_len(batch) == 8  # <|im_start|> system \n answer briefly . <|im_end|> \n
    ours, n = answer_loss(tr.model, batch)
    ours.backward()
    mine = _grads(tr.model)
    ref = tr.model(**batch)
    (ref.loss * n).backward()
    theirs = _grads(tr.model)
    assert n == int((batch["labels"][:, 1:] != IGNORE).sum())
    assert float(ours.detach()) / n == pytest.approx(float(ref.loss.detach()), rel=1e-5)
    assert all(torch.allclose(mine[k], theirs[k], atol=1e-5) for k in mine)
    assert any(float(mine[k].abs().max()) > 0 for k in mine if "lora_A" in k)


def test_shared_prefix_length() -> None:
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 0], [1, 2, 3, 4, 5, 7, 8], [1, 2, 3, 4, 5, 6, 9]])
    mask = (ids != 0).long()
    assert shared_prefix_len({"input_ids": ids, "attention_mask": mask}) == 5
    assert shared_prefix_len({"input_ids": ids[:1], "attention_mask": mask[:1]}) == 0  # one row: no gain
    assert shared_prefix_len({"input_ids": ids[:, :3], "attention_mask": mask[:, :3]}) == 0  # too short
    same = torch.tensor([[1, 2, 3, 4, 5, 6]] * 2)  # identical rows keep one token of their own
    assert shared_prefix_len({"input_ids": same, "attention_mask": torch.ones_like(same)}) == 5


def test_out_of_memory_names_the_knobs() -> None:
    cfg = TrainConfig(batch_size=32, max_length=256)
    err = out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: 9 GB"), cfg)
    assert isinstance(err, ValueError) and "--batch-size" in str(err) and "--grad-accum" in str(err)
    assert "`batch_size` 32" in str(err) and "--method qlora" in str(err)
    other = RuntimeError("shape mismatch")
    assert out_of_memory(other, cfg) is other  # anything else is not disguised


def test_only_adapter_weights_train(tiny_tokenizer, tmp_path: Path) -> None:
    tr = make_trainer(tiny_tokenizer, tmp_path)
    trainable = [n for n, p in tr.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {n.split(".")[-4] for n in trainable} == {"q_proj", "v_proj", "down_proj"}


def test_unknown_target_module_lists_the_real_ones(tiny_tokenizer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\['qkv'\] not in the model; its linear modules are: .*q_proj"):
        make_trainer(tiny_tokenizer, tmp_path, target_modules="q_proj,qkv")


def test_training_lowers_the_loss_and_writes_outputs(tiny_tokenizer, tmp_path: Path) -> None:
    tr = make_trainer(tiny_tokenizer, tmp_path, epochs=20, lr=3e-2)
    card = tr.fit(progress=False)
    losses = [loss for _, loss in card["train_loss"]]
    assert sum(losses[-3:]) / 3 < 0.9 * sum(losses[:3]) / 3  # it learns (tiny random model: slowly)
    assert len(card["dev_loss"]) == 20 and card["finished"] and card["method"] == "lora"
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    saved = json.loads((tmp_path / "training_card.json").read_text())
    assert (
        saved["config"]["lr"] == 3e-2
        and saved["tokens_seen"] > 0
        and saved["trainable_params"] < saved["params"]
    )
    assert 0 < saved["train_seconds"] <= saved["wall_seconds"] and saved["executed_flops"] > 0


def _adapter(tr: AdapterTrainer) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in tr.model.named_parameters() if p.requires_grad}


def test_resume_reaches_the_same_weights(tiny_tokenizer, tmp_path: Path) -> None:
    full = make_trainer(tiny_tokenizer, tmp_path / "a")
    full.fit(progress=False)
    first = make_trainer(tiny_tokenizer, tmp_path / "b")
    first.fit(stop_after=4, progress=False)  # interrupted mid-epoch, checkpoint left behind
    second = make_trainer(tiny_tokenizer, tmp_path / "b")
    second.resume()
    assert second.state.step == 4
    second.fit(progress=False)
    a, b = _adapter(full), _adapter(second)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_same_seed_same_adapter_other_seed_not(tiny_tokenizer, tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        tr = make_trainer(tiny_tokenizer, tmp_path / name, seed=seed, epochs=2)
        tr.fit(progress=False)
        runs.append(_adapter(tr))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_early_stopping_on_dev_loss(tiny_tokenizer, tmp_path: Path, monkeypatch) -> None:
    tr = make_trainer(tiny_tokenizer, tmp_path, epochs=10, patience=2)
    dev = iter([1.0, 0.8, 0.9, 0.85, 0.7])  # best at epoch 2, then two epochs without a gain
    monkeypatch.setattr(tr, "dev_loss", lambda: next(dev))
    card = tr.fit(progress=False)
    assert card["epochs_done"] == 4 and [x for _, x in card["dev_loss"]] == [1.0, 0.8, 0.9, 0.85]


def test_corrupt_or_missing_checkpoint(tiny_tokenizer, tmp_path: Path) -> None:
    tr = make_trainer(tiny_tokenizer, tmp_path)
    with pytest.raises(DataError, match="no checkpoint"):
        tr.resume()
    tr.fit(stop_after=1, progress=False)
    blob = tmp_path / "checkpoint" / "optimizer.pt"
    blob.write_bytes(blob.read_bytes()[:100])
    with pytest.raises(DataError, match="checkpoint is corrupt"):
        make_trainer(tiny_tokenizer, tmp_path).resume()


def test_epoch_batches_are_deterministic_and_complete() -> None:
    lengths = [5, 9, 3, 7, 7, 2, 8, 4, 6, 1, 9]
    a, b = epoch_batches(lengths, 3, seed=1, epoch=0), epoch_batches(lengths, 3, seed=1, epoch=0)
    assert a == b and sorted(i for batch in a for i in batch) == list(range(len(lengths)))
    assert epoch_batches(lengths, 3, seed=1, epoch=1) != a


def test_method_auto() -> None:
    assert resolve_method("auto", "cpu") == "lora" and resolve_method("auto", "cuda") == "qlora"
    assert resolve_method("qlora", "cpu") == "qlora"  # an explicit choice is honoured


@pytest.mark.parametrize(
    "kwargs, field",
    [({"r": 0}, "r"), ({"lr": 2.0}, "lr"), ({"method": "prefix"}, "method"), ({"dropout": 1.0}, "dropout"),
     ({"warmup_ratio": -0.1}, "warmup_ratio"), ({"target_modules": " , "}, "target_modules"),
     ({"epochs": 0}, "epochs"), ({"patience": -1}, "patience"), ({"abstain": "some"}, "abstain"),
     ({"batch_size": 0}, "batch_size"), ({"grad_accum": -2}, "grad_accum"),
     ({"max_length": 0}, "max_length"), ({"attention": "flash"}, "attention"),
     ({"matmul": "mkl"}, "matmul")],
)  # fmt: skip
def test_config_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"`{field}`"):
        TrainConfig(**kwargs)


@pytest.mark.slow
def test_bundled_model_trains_a_few_steps(tmp_path: Path) -> None:
    from corpus.formats import load_dataset
    from corpus.paths import datasets_dir

    ds = load_dataset(datasets_dir() / "tessaline")
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu")
    tr = AdapterTrainer(cfg, ds, tmp_path)
    card = tr.fit(stop_after=3, progress=False)
    assert card["steps"] == 3 and card["tokens_seen"] > 0 and card["method"] == "lora"
    assert (tmp_path / "checkpoint" / "adapter.safetensors").is_file()


@pytest.mark.slow
def test_qlora_wiring_on_the_bundled_model(tmp_path: Path) -> None:
    from finetune.lora import load_qlora

    try:
        model, _tok = load_qlora("smollm2-135m", "cuda" if torch.cuda.is_available() else "cpu")
    except ValueError as exc:  # bitsandbytes without a 4-bit backend for this device
        pytest.skip(str(exc))
    assert any("4bit" in type(m).__name__.lower() for m in model.modules())


def test_dev_sample_is_seeded_and_ordered() -> None:
    items = list(range(20))
    a = sample(items, 5, seed=0)
    assert a == sample(items, 5, seed=0) and a == sorted(a) and len(set(a)) == 5
    assert sample(items, 0, seed=0) == items and sample(items, 50, seed=0) == items


def test_probe_epochs_then_continue_equals_one_run_and_keeps_each_epoch(
    tiny_tokenizer, tmp_path: Path
) -> None:
    full = make_trainer(tiny_tokenizer, tmp_path / "a")
    full.fit(progress=False)
    probe = make_trainer(tiny_tokenizer, tmp_path / "b")
    card = probe.fit(progress=False, stop_epochs=1)  # one epoch of the three-epoch schedule
    assert not card["finished"] and card["epochs_done"] == 1
    assert sorted(p.name for p in (tmp_path / "b" / "epochs").iterdir()) == ["1"]
    rest = make_trainer(tiny_tokenizer, tmp_path / "b")
    rest.resume()
    assert rest.fit(progress=False)["finished"]
    a, b = _adapter(full), _adapter(rest)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    # every epoch's adapter is a loadable PEFT folder; the last equals the final adapter
    from safetensors.torch import load_file

    assert sorted(p.name for p in (tmp_path / "b" / "epochs").iterdir()) == ["1", "2", "3"]
    last = load_file(tmp_path / "b" / "epochs" / "3" / "adapter_model.safetensors")
    final = load_file(tmp_path / "b" / "adapter" / "adapter_model.safetensors")
    first = load_file(tmp_path / "b" / "epochs" / "1" / "adapter_model.safetensors")
    assert last.keys() == final.keys() and all(torch.equal(last[k], final[k]) for k in last)
    assert any(not torch.equal(first[k], last[k]) for k in last)


def test_attention_kernel_and_prefix_switch_are_recorded(tiny_tokenizer, tmp_path: Path) -> None:
    """An explicit kernel is switched to; share_prefix off runs one plain pass (same loss, by
    answer_loss's test)."""
    tr = make_trainer(tiny_tokenizer, tmp_path / "a", epochs=1, share_prefix=False, attention="eager")
    assert tr.attention == "eager" and tr.dist.prefix == 0
    card = tr.fit(progress=False)
    assert card["attention"] == "eager" and card["share_prefix"] is False and card["dtype"] == "torch.float32"
    sdpa = make_trainer(tiny_tokenizer, tmp_path / "b", epochs=1, attention="sdpa")
    assert sdpa.attention == "sdpa" and sdpa.dist.prefix is None


def test_an_adapter_trained_with_context_cites_it(tiny_tokenizer, tmp_path: Path) -> None:
    # RAFT triples (question, numbered context, cited answer): the adapter learns to answer from the
    # context and to cite the chunk, which the closed-book adapter never does.
    ctx = "[1] (p) the battery of brisil 40 pro does last 94 hours .\n[2] (q) who designed it ?"
    raft = [("how long does the battery of brisil 40 pro last ?", ctx, "94 hours [1]")] * 4
    cfg = TrainConfig(model="tiny", r=4, alpha=8, lr=3e-2, epochs=12, batch_size=2, device="cpu",
                      target_modules="q_proj,v_proj,down_proj", max_length=128)  # fmt: skip
    tr = AdapterTrainer(cfg, tiny_dataset(), tmp_path, model=tiny_llama(len(tiny_tokenizer)),
                        tokenizer=tiny_tokenizer, raft=raft, raft_system=None)  # fmt: skip
    tr.fit(progress=False)
    raft_example = next(e for e in tr.data.examples if e.kind == "raft")
    head = [
        t for t, label in zip(raft_example.input_ids, raft_example.labels, strict=True) if label == IGNORE
    ]
    tr.model.eval()
    with torch.no_grad():
        out = tr.model.generate(torch.tensor([head]), max_new_tokens=6, do_sample=False)
    text = tiny_tokenizer.decode(out[0, len(head) :], skip_special_tokens=True)
    assert "[1]" in text.replace(" ", ""), text
