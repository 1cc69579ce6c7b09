"""Where a sweep's variants run: one after another in this process, or each on a Ray worker
(``RayExecutor.fan_out``) that rebuilds the sweep's context from paths, trains and scores one
variant per call. Rows come back in the variants' order either way."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compare.answering.executors import worker_threads
from compare.harness.stages import StageCache
from compare.sweep.run import SweepContext, row_line, run_variants, variant_row
from corpus.errors import DataError
from corpus.formats import load
from corpus.splits import first_facts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepJob:
    """What a sweep worker rebuilds its context from: the dataset's path (loaded there, never sent),
    the resolved configs and the runs folder's stage cache."""

    dataset: str
    qa: str | None
    configs: dict[str, Any]
    cache_root: str

    def context(self) -> SweepContext:
        loaded = load(Path(self.dataset), qa=self.qa)
        if loaded.problems:
            raise DataError(loaded.problems)
        ds = first_facts(loaded.dataset, self.configs["sweep"].facts)
        return SweepContext(ds, self.configs, StageCache(Path(self.cache_root)))


class SweepWorker:
    """A Ray actor: the sweep's context rebuilt from paths, one variant trained and scored per call."""

    def __init__(self, job: SweepJob, threads: int):
        worker_threads(threads)
        self.ctx = job.context()

    def row(self, variant: Any) -> dict[str, Any]:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):  # the driver prints rows
            return variant_row(self.ctx, variant, progress=False)


def run_sweep(executor: Any, job: SweepJob, variants: Sequence[Any], on_row: Callable[[list[dict]], None],
              progress: bool = True, ctx: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    """Every variant's row, trained and scored where ``executor`` runs work: in this process, or
    each on a worker of an executor that fans out (the table written as each finishes; variants not
    yet done are left out, as in a local sweep)."""
    if not hasattr(executor, "fan_out"):
        return run_variants(ctx or job.context(), variants, on_row, progress)
    n = min(executor.n_workers(), len(variants))
    log.info(f"[ray] {len(variants)} variants over {n} workers")
    rows: dict[int, dict[str, Any]] = {}
    init = (job, executor.cfg.worker_cpus)
    for i, row in executor.fan_out(SweepWorker, init, list(enumerate(variants)), "row"):
        rows[i] = row
        on_row([rows[k] for k in sorted(rows)])
        log.info(f"[sweep {len(rows)}/{len(variants)}] {row['variant']}: {row_line(row)}")
    return [rows[k] for k in sorted(rows)]
