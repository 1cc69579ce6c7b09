"""``ftrag train`` / ``adapter merge`` end to end on a tiny Llama saved as a local model folder."""

from __future__ import annotations

import json
from pathlib import Path


def one_error(stderr: str) -> str:
    """The single ``ftrag: error:`` line (progress bars of the fixture may come before it)."""
    errors = [line for line in stderr.splitlines() if line.startswith("ftrag: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


TINY = (
    "--r",
    "2",
    "--alpha",
    "4",
    "--batch-size",
    "1",
    "--device",
    "cpu",
    "--target-modules",
    "q_proj,v_proj",
)


def test_train_resume_and_merge(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc, stdout, err = run_cli(
        "train", mini_dir, "--model", tiny_model_dir, "--out", out, "--epochs", "2", *TINY
    )
    assert rc == 0, err
    assert "training lora" in stdout and "adapter ->" in stdout
    card = json.loads((out / "training_card.json").read_text())
    assert card["finished"] and card["epochs_done"] == 2 and card["examples"]["qa"] == 1
    assert json.loads((out / "config.json").read_text())["train"]["r"] == 2
    # a finished run's checkpoint resumes to the same end: nothing left to do, same card
    rc, _, err = run_cli(
        "train", mini_dir, "--model", tiny_model_dir, "--out", out, "--epochs", "2", "--resume", *TINY
    )
    assert rc == 0, err
    assert json.loads((out / "training_card.json").read_text())["steps"] == card["steps"]
    merged = tmp_path / "merged"
    rc, stdout, err = run_cli("adapter", "merge", out / "adapter", "--model", tiny_model_dir, "--out", merged)
    assert rc == 0, err
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()


def test_train_errors_are_one_line(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    rc, _, err = run_cli(
        "train", mini_dir, "--model", tiny_model_dir, "--out", tmp_path / "x", "--resume", *TINY
    )
    assert rc == 2 and one_error(err).endswith("no checkpoint to resume from; run without --resume")
    rc, _, err = run_cli("train", mini_dir, "--model", tmp_path, "--out", tmp_path / "y", *TINY)
    assert rc == 2 and "no config.json" in err
    rc, _, err = run_cli("train", mini_dir, "--model", tiny_model_dir, "--target-modules", "qkv", *TINY[:-2])
    assert rc == 2 and "`target_modules` ['qkv'] not in the model" in err
    rc, _, err = run_cli("train", mini_dir, "--model", tiny_model_dir, "--lr", "3", *TINY)
    assert rc == 2 and "`lr`" in err
    (mini_dir / "qa.jsonl").write_text(
        "\n".join(line for line in (mini_dir / "qa.jsonl").read_text().splitlines() if '"train"' not in line)
    )
    rc, _, err = run_cli("train", mini_dir, "--model", tiny_model_dir, "--out", tmp_path / "z", *TINY)
    assert rc == 2 and "train split is empty" in err


def test_merge_needs_an_adapter_folder(run_cli, tmp_path: Path) -> None:
    rc, _, err = run_cli("adapter", "merge", tmp_path, "--out", tmp_path / "m")
    assert rc == 2 and "no adapter_config.json" in err
