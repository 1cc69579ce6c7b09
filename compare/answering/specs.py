"""The systems a bench compares, registered by name: what each is made of (an adapter or the base
weights, retrieval or not). Importable without torch, so reports and commands can list them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corpus.errors import UserError


@dataclass(frozen=True)
class SystemSpec:
    """What a system is made of: an adapter (``None``: the base weights) and retrieval or not."""

    name: str
    adapter: str | None
    retrieval: bool
    about: str
    examples: bool = True  # worked examples in a RAG prompt (off where the adapter learned the format)


SYSTEMS: dict[str, SystemSpec] = {}


def register_system(spec: SystemSpec) -> None:
    SYSTEMS[spec.name] = spec


for _spec in (
    SystemSpec("base", None, False, "the model's weights only (closed book)"),
    SystemSpec("rag", None, True, "retrieved chunks in the prompt, cited as [n]"),
    SystemSpec("ft", "sft", False, "adapter trained on the corpus's questions (closed book)"),
    SystemSpec("hybrid", "sft", True, "the adapter and retrieved chunks"),
    SystemSpec(
        "raft", "raft", True, "adapter trained on questions with oracle + distractor chunks, then RAG"
    ),
):
    register_system(_spec)


def get_systems(names: Sequence[str]) -> list[SystemSpec]:
    """Specs for ``names``; an unknown name raises a ValueError listing the valid ones."""
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise UserError(f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEMS)}")
    return [SYSTEMS[n] for n in dict.fromkeys(names)]
