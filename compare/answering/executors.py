"""Where the heavy work runs: in this process (``local``) or fanned out over a Ray cluster (``ray``).

The generation batches of every system's answers (the bench, its dev tuning and scenarios) fan out
here; other work fans out through ``RayExecutor.fan_out`` with a worker class of its own (a sweep's
variants: compare.sweep.fanout). Ray only
carries small data: prompt strings, answers, configs, file paths. Every worker loads the model
itself (from the registry or a model folder) and each adapter from its folder under the runs
folder, so model and index files are shared through the file system, never pickled through Ray;
on a cluster of several machines the runs folder must be a shared mount.

Results equal the local executor's: the batches are the ones the local engine would form (same
prompts together, same order), each run by the same engine code, and the answers come back in the
caller's order. Timings differ, as they must: the workers run at once.

Add an executor with :func:`register_executor`; ``ExecutorConfig.name`` picks it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from compare.answering.specs import SystemSpec
from compare.answering.systems import Resources, generate_here, plan_here
from compare.engines.registry import ENGINES, EngineConfig, attach_engine
from compare.harness.prompting import plan_batches
from compare.harness.records import Generation
from corpus.errors import UserError
from finetune.models import load_model

log = logging.getLogger(__name__)

# Environment the workers of a Ray cluster this command starts must share with it: the model and
# embedding cache folder, and the OpenBLAS settings some processors need.
PASSED_ENV = ("FTRAG_CACHE", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "HF_HOME", "HF_HUB_OFFLINE")
RAY_HINT = "the ray executor needs Ray: pip install 'ftrag[scale]' (or `make setup`)"


@dataclass(frozen=True)
class ExecutorConfig:
    """Which executor runs generation batches and sweep variants, and how many Ray workers."""

    name: str = field(default="local", metadata={"help": "local | ray"})
    # Empty: the command starts a local Ray on this machine and stops it at the end.
    address: str = field(default="", metadata={"help": "Ray cluster address (auto, ray://host:10001)"})
    # 0: as many workers as the cluster has CPUs for (cluster CPUs // worker_cpus).
    workers: int = field(default=0, metadata={"help": "Ray workers (actors); 0 = fill the cluster"})
    # One CPU each by default: on a CPU cluster several small workers keep every core busy, and a
    # worker's torch threads are set to its CPUs, so it never oversubscribes its machine.
    worker_cpus: int = field(default=1, metadata={"help": "CPUs each worker reserves (its torch threads)"})
    worker_gpus: float = field(default=0.0, metadata={"help": "GPUs each worker reserves (CUDA clusters)"})

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise UserError(f"`name` must be one of {', '.join(EXECUTORS)}, got {self.name!r}")
        if self.workers < 0:
            raise UserError(f"`workers` must be >= 0, got {self.workers!r}")
        if self.worker_cpus < 1:
            raise UserError(f"`worker_cpus` must be a positive integer, got {self.worker_cpus!r}")
        if self.worker_gpus < 0:
            raise UserError(f"`worker_gpus` must be >= 0, got {self.worker_gpus!r}")
        if self.address and self.name != "ray":
            raise UserError("`address` is a Ray cluster's; pass --executor ray with it")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelRef:
    """How a worker loads the generator: what ``finetune.models.load_model`` takes."""

    name: str
    device: str = "auto"
    dtype: str = "auto"
    trust_remote_code: bool = False
    # the generation engine the driver resolved (compare.engines.registry), so workers answer alike
    engine: str = "hf"
    precision: str = "f32"


def executor_items(args: argparse.Namespace) -> list[str]:
    """``--executor``, ``--address`` and ``--workers`` as overrides of the executor section."""
    flags = (("name", "executor"), ("address", "address"), ("workers", "workers"))
    return [f"executor.{k}={getattr(args, a)}" for k, a in flags if getattr(args, a, None) not in (None, "")]


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """The executor flags of a command that generates (bench, sweep)."""
    p.add_argument("--executor", choices=["local", "ray"], help="where generation runs (default: local)")
    p.add_argument("--address", help="a running Ray cluster (default: start a local Ray for this command)")
    p.add_argument("--workers", type=int, help="Ray workers (default: one per CPU of the cluster)")


class LocalExecutor:
    """Everything in this process, one batch and one variant after another (the default)."""

    name = "local"

    def __init__(self, cfg: ExecutorConfig | None = None):
        self.cfg = cfg or ExecutorConfig()

    def generate(
        self, res: Any, spec: Any, prompts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Any]:
        return generate_here(res, spec, prompts, progress)

    def plan(self, res: Any, spec: Any, prompts: Sequence[str]) -> list[list[int]]:
        """The prompt indices of each batch :meth:`generate` runs, in order: the engine's own plan."""
        return plan_here(res, spec, prompts)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "workers": 1}

    def close(self) -> None:
        pass


class RayExecutor:
    """Generation batches and sweep variants on Ray actors, each holding one model."""

    name = "ray"

    def __init__(self, cfg: ExecutorConfig):
        if not cfg.address:
            # A Ray this command starts stays on loopback: by default Ray registers the machine's
            # network address, this switch makes it use 127.0.0.1 (read when ray is first imported).
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError:
            raise UserError(RAY_HINT) from None
        self.cfg, self.ray = cfg, ray
        self.started = False
        if not ray.is_initialized():
            env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning"}
            if cfg.address:
                kwargs["address"] = cfg.address
            else:
                kwargs["num_cpus"] = cfg.workers * cfg.worker_cpus or os.cpu_count() or 1
            t0 = time.perf_counter()
            try:
                ray.init(runtime_env={"env_vars": env}, **kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = f"the Ray cluster at {cfg.address!r}" if cfg.address else "a local Ray"
                raise UserError(
                    f"could not start or reach {where} ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                    "check --address, or leave it out to start a local Ray"
                ) from None
            self.started = True
            log.info(f"[ray] {'connected to ' + cfg.address if cfg.address else 'started a local Ray'} "
                     f"({self.cluster_cpus()} CPUs) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        self.pools: dict[ModelRef, list[Any]] = {}

    def cluster_cpus(self) -> int:
        return int(self.ray.cluster_resources().get("CPU", 1))

    def n_workers(self) -> int:
        return self.cfg.workers or max(1, self.cluster_cpus() // self.cfg.worker_cpus)

    def actor_options(self) -> dict[str, Any]:
        return {"num_cpus": self.cfg.worker_cpus, "num_gpus": self.cfg.worker_gpus}

    def pool(self, model: ModelRef) -> list[Any]:
        """The generation workers for ``model`` (started on first use, kept for the command)."""
        if model not in self.pools:
            actor = self.ray.remote(GenerationWorker).options(**self.actor_options())
            self.pools[model] = [actor.remote(model, self.cfg.worker_cpus) for _ in range(self.n_workers())]
        return self.pools[model]

    def generate(
        self, res: Any, spec: Any, prompts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Any]:
        """``prompts`` answered in the local engine's batches, the batches spread over the workers."""
        res.check(spec)
        if not prompts:
            return []
        if res.model_ref is None:
            raise ValueError("the ray executor needs the model's name or folder (Resources.model_ref)")
        path = res.adapter_paths.get(spec.adapter or "")
        adapter = (spec.adapter, str(Path(path).resolve())) if spec.adapter and path else None
        workers = self.pool(res.model_ref)
        jobs = [(idx, [prompts[i] for i in idx]) for idx in self.plan(res, spec, prompts)]
        out: list[Generation | None] = [None] * len(prompts)
        for idx, gens in self._spread(workers, "generate", jobs, adapter, res.max_new_tokens):
            for i, g in zip(idx, gens, strict=True):
                out[i] = Generation(**g)
            if progress:
                progress(len(idx))
        return [g for g in out if g is not None]

    def plan(self, res: Any, spec: Any, prompts: Sequence[str]) -> list[list[int]]:
        """The prompt indices of each batch :meth:`generate` sends to a worker."""
        return plan_batches(prompts, res.batch_size, ENGINES[res.engine_name].plan)

    def _spread(self, workers: list[Any], method: str, jobs: list[tuple[Any, Any]], *args: Any) -> Iterator:
        """``(tag, result)`` of ``worker.method(payload, *args)`` for every job, each worker given
        its next job as soon as it is free; results come back as they finish."""
        ray = self.ray
        pending = list(reversed(jobs))
        running: dict[Any, Any] = {}

        def submit(worker: Any) -> None:
            tag, payload = pending.pop()
            running[getattr(worker, method).remote(payload, *args)] = (tag, worker)

        for w in workers[: len(jobs)]:
            submit(w)
        while running:
            (ready,), _ = ray.wait(list(running), num_returns=1)
            tag, worker = running.pop(ready)
            if pending:
                submit(worker)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayTaskError as exc:
                # the worker's own error (a model folder missing on that machine, say), as it is,
                # so the command reports it in one line like a local one
                cause = getattr(exc, "cause", None)
                if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
                    raise cause from None
                raise
            yield tag, result

    def fan_out(
        self, worker: type, init: Sequence[Any], jobs: list[tuple[Any, Any]], method: str
    ) -> Iterator:
        """``(tag, result)`` of ``worker(*init).method(payload)`` for every ``(tag, payload)`` job, on
        as many actors of ``worker`` as there are workers (at most one per job), each given its next
        job as soon as it is free; the actors are stopped after the last result."""
        n = min(self.n_workers(), len(jobs))
        actor = self.ray.remote(worker).options(**self.actor_options())
        workers = [actor.remote(*init) for _ in range(n)]
        try:
            yield from self._spread(workers, method, jobs)
        finally:
            for w in workers:
                self.ray.kill(w)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.cfg.address or "local", "workers": self.n_workers(),
                "worker_cpus": self.cfg.worker_cpus, "cluster_cpus": self.cluster_cpus()}  # fmt: skip

    def close(self) -> None:
        for workers in self.pools.values():
            for w in workers:
                self.ray.kill(w)
        self.pools.clear()
        if self.started:
            self.ray.shutdown()


def worker_threads(n: int) -> None:
    """A worker's torch threads: the CPUs it reserved (Ray sets OMP_NUM_THREADS alike)."""
    import torch

    torch.set_num_threads(n)


class GenerationWorker:
    """A Ray actor: one model, its adapters loaded by folder, batches run by the local engine."""

    def __init__(self, model: ModelRef, threads: int):
        worker_threads(threads)
        m, tok = load_model(model.name, model.device, model.dtype, model.trust_remote_code)
        self.res = Resources(m, tok, model_ref=model)
        device = next(m.parameters()).device.type
        attach_engine(self.res, EngineConfig(model.engine, model.precision, threads), device, model.name)

    def generate(
        self, prompts: list[str], adapter: tuple[str, str] | None, max_new_tokens: int
    ) -> list[dict]:
        res = self.res
        if adapter:
            name, path = adapter
            if res.adapter_paths.get(name) not in (None, path):  # same name, another folder
                res.drop_adapter(name)
            res.add_adapter(name, path)
        spec = SystemSpec(f"worker@{adapter[0] if adapter else 'base'}", adapter and adapter[0], False, "")
        with res.engine(spec) as engine:
            engine.max_new_tokens = max_new_tokens
            return [asdict(g) for g in engine.batch(prompts)]


EXECUTORS: dict[str, type] = {}


def register_executor(cls: type) -> None:
    EXECUTORS[cls.name] = cls


register_executor(LocalExecutor)
register_executor(RayExecutor)


@contextlib.contextmanager
def open_executor(cfg: ExecutorConfig) -> Iterator[Any]:
    """The configured executor for the duration of a command (a Ray it started is stopped after)."""
    ex = EXECUTORS[cfg.name](cfg)
    try:
        yield ex
    finally:
        ex.close()
