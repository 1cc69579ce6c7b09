"""The hybrid's readers, registered by name: how the adapter that reads the retrieved chunks is
trained (compare.pipeline.reader builds the examples, compare.pipeline.tune_stages trains them).
Importable without torch, so the config can check a name and list the others.

- ``sft``: the closed-book adapter itself (the naive combination, kept so the report shows what
  training for context buys).
- ``raft``: a second adapter trained from the base weights, for the whole schedule, on the
  closed-book pairs and the RAFT examples (oracle and distractor chunks, cited answers, a share
  without the oracle answered as ``bench.raft_no_oracle`` says, a share whose page holds another
  value, the unanswerable train questions answered "I don't know").
- ``mix``: the closed-book adapter trained on for ``bench.mix_epochs`` epochs more with the same
  mix of closed-book pairs and RAFT examples: one adapter that has learned both, for the price of
  one short training instead of a second whole one (a RAFT example is about 15 times as long as a
  closed-book pair, so a RAFT epoch costs what the whole closed-book schedule does).
- ``distill``: as ``mix``, but the in-context targets are what the RAG system (base weights, its
  prompt with worked examples) answered to the train questions: prompt distillation (Snell et al.
  2022, "Learning by distilling context"); the reader learns the worked examples' behaviour and
  is prompted without them, so its prompts are shorter.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.errors import UserError


@dataclass(frozen=True)
class Reader:
    """How a reader adapter is trained: on in-context examples or not, from which adapter's
    weights (``None``: from the base weights, for the training config's epochs), and whose answers
    its in-context targets are (``None``: the train answers, cited; else that system's)."""

    name: str
    about: str
    contexts: bool
    continues: str | None = None
    teacher: str | None = None


# What a RAFT example without its oracle chunk teaches (bench.raft_no_oracle): "memory", the answer
# the adapter memorised, uncited (Zhang et al.'s recipe: the reader still answers what it knows);
# "abstain", the abstain answer. On the quick bench a mix reader trained with "abstain" said "I don't
# know" to 24 of the 48 answerable dev questions (retrieval ranks the oracle first for nearly all of
# them: dev MRR@10 0.996), and was right on 22 of the other 24.
NO_ORACLE = ("memory", "abstain")

READERS: dict[str, Reader] = {}


def register_reader(reader: Reader) -> None:
    READERS[reader.name] = reader


for _reader in (
    Reader("sft", "the closed-book adapter", contexts=False),
    Reader("raft", "an adapter trained on questions with retrieved chunks and cited answers", contexts=True),
    Reader(
        "mix",
        "the closed-book adapter trained on further with questions in retrieved chunks",
        contexts=True,
        continues="sft",
    ),
    Reader(
        "distill",
        "the closed-book adapter trained on further to answer without worked examples as RAG does with them",
        contexts=True,
        continues="sft",
        teacher="rag",
    ),
):
    register_reader(_reader)


def parse_readers(text: str) -> list[str]:
    """``"sft,raft"`` -> ``["sft", "raft"]``, each a known reader (one line naming the others)."""
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in READERS]
    if bad or not names:
        raise UserError(f"`hybrid_readers` takes a comma list of {', '.join(READERS)}, got {text!r}")
    return list(dict.fromkeys(names))
