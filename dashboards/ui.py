"""Streamlit glue shared by the pages: the sidebar run picker, cached loaders, and the messages
for an empty runs folder or a run that cannot be shown (partial, old schema, unreadable).

The entry script (``dashboards/app.py``) calls :func:`sidebar` on every rerun, before the page
runs, and leaves the result in session state; a page reads it with :func:`context`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from dashboards import answers, data, search

CTX_KEY = "ftrag_ctx"
FOLDER_KEY = "ftrag_runs_folder"
RUN_KEY = "ftrag_run"


@dataclass
class Ctx:
    """What every page needs: the runs root (fixed at start), the folder listed, its runs and
    the selected run (``None`` when there is none)."""

    root: Path
    folder: Path
    runs: list[data.RunInfo] = field(default_factory=list)
    run: data.Run | None = None


def parse_args(argv: Sequence[str]) -> Path:
    """The runs root from ``streamlit run app.py -- --runs DIR`` (other arguments ignored)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runs", default="runs")
    args, _ = parser.parse_known_args(list(argv))
    return Path(args.runs).expanduser().resolve()


@st.cache_data(show_spinner="Reading the run folder...", max_entries=8)
def cached_run(path: str, signature: tuple) -> data.Run:
    """``data.load_run``, reloaded when one of the run's files changes (``signature``)."""
    return data.load_run(Path(path))


@st.cache_data(show_spinner=False, max_entries=4)
def cached_chunks(index_dir: str, mtime: int) -> dict[str, dict[str, Any]]:
    return answers.read_chunks(Path(index_dir))


@st.cache_resource(show_spinner="Loading the run's index and embedder (first query only)...", max_entries=2)
def cached_retriever(index_dir: str, section_json: str) -> Any:
    return search.open_retriever(Path(index_dir), json.loads(section_json))


def chunks_of(ctx: Ctx) -> dict[str, dict[str, Any]]:
    """Chunk texts of the selected run's saved index ({} when the index is not available)."""
    folder = data.index_folder(ctx.root, (ctx.run and ctx.run.summary) or {})
    if folder is None or not (folder / "chunks.jsonl").is_file():
        return {}
    return cached_chunks(str(folder), (folder / "chunks.jsonl").stat().st_mtime_ns)


def _pick_folder(root: Path) -> Path:
    if FOLDER_KEY not in st.session_state:
        st.session_state[FOLDER_KEY] = str(st.query_params.get("runs", ""))
    text = st.sidebar.text_input(
        "Runs sub-folder",
        key=FOLDER_KEY,
        placeholder="(the runs folder itself)",
        help=f"A folder inside {root}, e.g. `ci`. Paths outside it are refused.",
    )
    folder, error = data.runs_folder(root, text)
    if error:
        st.sidebar.error(error)
    _set_param("runs", text.strip())
    return folder


def _pick_run(ctx: Ctx) -> data.RunInfo:
    names = [r.name for r in ctx.runs]
    if st.session_state.get(RUN_KEY) not in names:
        st.session_state[RUN_KEY] = data.default_run(ctx.runs).name
        wanted = str(st.query_params.get("run", ""))
        if wanted:
            path, error = data.run_path(ctx.folder, ctx.root, wanted)
            if error or path is None or path.name not in names:
                st.sidebar.error(error or f"`{wanted}` is not listed in {ctx.folder}.")
            else:
                st.session_state[RUN_KEY] = path.name
    by_name = {r.name: r for r in ctx.runs}
    choice = st.sidebar.selectbox(
        "Run", names, key=RUN_KEY, format_func=lambda n: data.run_label(by_name[n]), help="Newest first."
    )
    _set_param("run", choice)
    return by_name[choice]


def _set_param(name: str, value: str) -> None:
    """Keep the URL shareable: it names the folder and run shown."""
    if value and st.query_params.get(name) != value:
        st.query_params[name] = value
    elif not value and name in st.query_params:
        del st.query_params[name]


def sidebar(root: Path) -> Ctx:
    """Draw the run picker and load the selected run; the context is kept for the page."""
    st.sidebar.caption(f"Runs folder: `{root}`")
    ctx = Ctx(root, _pick_folder(root))
    ctx.runs = data.list_runs(ctx.folder, root)
    if ctx.runs:
        info = _pick_run(ctx)
        ctx.run = cached_run(str(info.path), data.files_signature(info.path))
        if not ctx.run.info.complete:
            st.sidebar.warning(f"This run is {ctx.run.info.status}.")
    st.session_state[CTX_KEY] = ctx
    return ctx


def context() -> Ctx:
    """The context the entry script left for this rerun."""
    return st.session_state[CTX_KEY]


def no_runs(ctx: Ctx) -> None:
    """What to do when the folder holds no run."""
    where = ctx.folder if ctx.folder.exists() else f"{ctx.folder} (it does not exist yet)"
    st.info(f"No benchmark runs in {where}. {data.HOW_TO_RUN}")
    subs = data.sub_folders(ctx.folder, ctx.root)
    if subs:
        st.caption("Sub-folders that may hold runs (type one in the sidebar): " + ", ".join(subs))


def show_incomplete(run: data.Run) -> None:
    """Why a run cannot be shown, and an inventory of what it has and lacks."""
    info = run.info
    (st.error if info.status == data.BROKEN else st.warning)(f"**{info.name}**: {info.message}")
    rows = [{"file": n, "state": "present" if n in info.present else "missing"} for n in data.EXPECTED_FILES]
    rows += [
        {"file": n, "state": "present" if n in info.present else "absent (optional)"}
        for n in data.OPTIONAL_FILES
    ]
    st.dataframe(rows, hide_index=True, width="content")
    for problem in run.problems:
        st.caption(f"Also: {problem}")
    if run.config:
        with st.expander("What this run was configured to do (config.json)"):
            st.json(run.config, expanded=1)


def complete_run(ctx: Ctx) -> data.Run | None:
    """The selected run when it can be shown; otherwise the right message and ``None``."""
    if ctx.run is None:
        no_runs(ctx)
        return None
    if not ctx.run.info.complete or ctx.run.summary is None:
        show_incomplete(ctx.run)
        return None
    for problem in ctx.run.problems:
        st.warning(problem)
    return ctx.run


def page(title: str, note: str = "") -> data.Run | None:
    """A page's opening: its title, then the selected run with its caption (and ``note``), or the
    message saying why there is nothing to show (``None``)."""
    st.title(title)
    run = complete_run(context())
    if run is not None:
        st.caption(run_caption(run) + (f" {note}" if note else ""))
    return run


def run_caption(run: data.Run) -> str:
    """One line saying which run, dataset, model and machine the numbers come from."""
    s = run.summary or {}
    machine = s.get("machine") or {}
    systems = s.get("systems") or {}
    n = next((v.get("questions") for v in systems.values() if isinstance(v, dict)), "?")
    return (
        f"Run `{run.info.name}`: dataset {s.get('dataset', '?')}, {s.get('profile', '?')} profile, "
        f"model {data.model_of(run)} on {machine.get('device', '?')} ({machine.get('cpus', '?')} CPUs), "
        f"{n} {(run.config.get('bench') or {}).get('split', 'test')} questions per system."
    )
