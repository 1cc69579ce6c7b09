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


@dataclass(frozen=True)
class ComposedSpec(SystemSpec):
    """A system that generates nothing of its own: its answers are composed from its ``parts``'
    (compare.pipeline.route); ``rule`` is how, chosen on dev ("" until then). A subclass, so the
    other systems' specs, and the cache keys made from them, stay as they were."""

    parts: tuple[str, ...] = ()
    rule: str = ""


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
    ComposedSpec(
        "routed",
        None,
        False,
        "RAG and the adapter side by side; a rule chosen on dev takes RAG's cited answer, the "
        "adapter's (where RAG's chunks contain it, or where RAG abstains) or \"I don't know\"",
        parts=("rag", "ft"),
    ),
):
    register_system(_spec)


def get_systems(names: Sequence[str]) -> list[SystemSpec]:
    """Specs for ``names``, a composed system's parts added before it where not named; an unknown
    name is one line listing the valid ones."""
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise UserError(f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEMS)}")
    out: list[str] = []
    for n in names:
        out += [p for p in getattr(SYSTEMS[n], "parts", ()) if p not in out] + ([n] if n not in out else [])
    return [SYSTEMS[n] for n in out]


def is_composed(spec: SystemSpec) -> bool:
    """Does the system compose its parts' answers instead of generating?"""
    return isinstance(spec, ComposedSpec)
