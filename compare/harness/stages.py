"""Bench stages cached by a hash of their inputs: the index, the adapters, each system's answers.

The cache lives in ``<runs>/.cache/<stage>/<key>``. A repeated bench with nothing changed loads
every stage; an interrupted one continues (training from its last checkpoint, answers from the
systems already done). Each stage writes into a temporary path and renames, and holds a lock on
its key, so two benches at once neither clobber nor duplicate each other's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corpus.chunking import ChunkConfig
from corpus.io import atomic_write_text
from corpus.model import Dataset, QAItem
from finetune.config import TrainConfig
from retrieval.config import RetrievalConfig
from retrieval.embed import Embedder

log = logging.getLogger(__name__)


def digest(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (dataclasses included)."""
    text = json.dumps(
        parts, sort_keys=True, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def docs_digest(ds: Dataset) -> str:
    return digest(sorted((d.doc_id, d.content_hash) for d in ds.docs.values()))


def questions_digest(items: Sequence[QAItem]) -> str:
    return digest([(q.id, q.question, q.answer, list(q.aliases), q.kind, q.split) for q in items])


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` + ``.lock`` for the duration (another bench waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# Bumped when an adapter folder's layout changes (2: every epoch's adapter kept under epochs/<n>/).
ADAPTER_LAYOUT = 2
_KEY = re.compile(r"^[0-9a-f]{16}$")


def portable(path: str | Path) -> str:
    """A cached adapter's path from its key folder on (``<key>/adapter``, ``<key>/epochs/3``): the
    same wherever the runs folder is and however it was spelled."""
    parts = Path(path).parts
    start = max((i for i, p in enumerate(parts) if _KEY.match(p)), default=max(0, len(parts) - 2))
    return "/".join(parts[start:])


def adapter_key(ds: Dataset, cfg: TrainConfig, name: str, kwargs: dict) -> str:
    """What an adapter depends on: its data, its config and the trainer's extra arguments."""
    return digest(
        ADAPTER_LAYOUT,
        name,
        questions_digest(ds.questions("train")),
        questions_digest(ds.questions("dev")),
        docs_digest(ds) if cfg.include_docs else "",
        cfg,
        # an adapter a continued training starts from counts by its own key, not by where the
        # runs folder happens to be (a relative and an absolute --runs must hit the same cache)
        digest({k: portable(v) if k == "init_adapter" else v for k, v in kwargs.items()}),
    )


class StageCache:
    """Folders and files of cached stages under one root."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.hits: dict[str, bool] = {}

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def has(self, stage: str, key: str) -> bool:
        """Whether :meth:`record` holds ``stage``'s result for ``key``."""
        return self.path(stage, key + ".json").is_file()

    def index(
        self, ds: Dataset, chunking: ChunkConfig, cfg: RetrievalConfig, progress: bool = True
    ) -> tuple[Any, Any, dict]:
        """The chunk index of ``ds`` (built once per docs + chunking + index settings) and its embedder."""
        from retrieval.index import ChunkIndex

        emb = Embedder.from_config(cfg)
        key = digest(
            docs_digest(ds),
            chunking,
            cfg.embedder,
            cfg.index_type,
            cfg.hnsw_m,
            cfg.hnsw_ef_construction,
            cfg.ivf_nlist,
            cfg.pq_m,
        )
        path = self.path("index", key)
        with locked(path):
            hit = (path / "manifest.json").is_file()
            if not hit:
                index = ChunkIndex.build(list(ds.docs.values()), emb, cfg, chunking, progress=progress)
                index.save(path)
            index = ChunkIndex.load(path)
        self.hits["index"] = hit
        info = {"key": key, "path": str(path), "cached": hit, "chunks": len(index.chunks), "kind": index.kind}
        return index, emb, info | index.manifest["build"]

    def adapter(
        self,
        ds: Dataset,
        cfg: TrainConfig,
        name: str = "sft",
        trainer_kwargs: dict | None = None,
        progress: bool = True,
        stop_epochs: int | None = None,
    ) -> tuple[Path, dict]:
        """A trained adapter folder and its training card; resumes an interrupted training.

        With ``stop_epochs`` the training stops after that many epochs of its full schedule (a
        probe; the card says ``finished: false``); a later call without it continues from there.
        """
        from finetune.train import AdapterTrainer

        kwargs = trainer_kwargs or {}
        key = adapter_key(ds, cfg, name, kwargs)
        out = self.path("adapter", key)
        with locked(out):
            card_path = out / "training_card.json"
            card = json.loads(card_path.read_text()) if card_path.is_file() else {}
            hit = bool(card.get("finished"))
            if not hit:
                trainer = AdapterTrainer(cfg, ds, out, **kwargs)
                if (out / "checkpoint" / "state.json").is_file():
                    trainer.resume()
                done = trainer.state.epoch
                hit = stop_epochs is not None and done >= stop_epochs
                if not hit:
                    until = f" (epochs {done + 1}-{stop_epochs} of {cfg.epochs})" if stop_epochs else ""
                    log.info(
                        f"training {name} adapter ({trainer.method}, {trainer.device}): "
                        f"{len(trainer.data.examples)} examples, {trainer.total_steps} steps{until}"
                    )
                card = trainer.fit(progress=progress, stop_epochs=stop_epochs)
                del trainer
        self.hits[f"adapter:{name}"] = hit
        return out / "adapter", {"key": key, "path": str(out), "cached": hit, **card}

    def answers(self, key: str, produce: Any) -> tuple[Any, bool]:
        """``produce()``'s JSON-able result, computed once per key."""
        return self.record("answers", key, produce)

    def record(self, stage: str, key: str, produce: Any) -> tuple[Any, bool]:
        """``produce()``'s JSON-able result for ``stage``, computed once per key, with the seconds it
        took (``seconds``), and whether it came from the cache."""
        path = self.path(stage, key + ".json")
        with locked(path):
            if path.is_file():
                return json.loads(path.read_text()), True
            t0 = time.perf_counter()
            result = produce()
            atomic_write_text(path, json.dumps({"seconds": time.perf_counter() - t0, **result}) + "\n")
            return json.loads(path.read_text()), False
