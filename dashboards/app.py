"""ftrag dashboard entry point: ``streamlit run dashboards/app.py -- --runs DIR``.

Started by ``ftrag dashboard`` (``dashboards/cli.py``). Each page has its own URL
(``/overview``, ``/questions``, ``/scenarios``, ``/retrievability``, ``/content``, ``/decide``,
``/compare``);
``?run=NAME`` selects a run and ``?runs=SUB`` a sub-folder of the runs folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # run as a script by Streamlit: make `dashboards` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import ui

VIEWS = Path(__file__).with_name("views")
# (file, title, url path, icon): the order is the reading order, from results to a decision.
PAGE_SPECS = (
    ("overview.py", "Overview", "overview", ":material/dashboard:"),
    ("questions.py", "Questions", "questions", ":material/quiz:"),
    ("scenarios.py", "Hybrid and scenarios", "scenarios", ":material/update:"),
    ("retrievability.py", "Retrievability", "retrievability", ":material/travel_explore:"),
    ("content.py", "Content", "content", ":material/article:"),
    ("decide.py", "Decide", "decide", ":material/rule:"),
    ("compare_runs.py", "Compare runs", "compare", ":material/compare_arrows:"),
    ("sweeps.py", "Sweeps", "sweeps", ":material/tune:"),
)


def main() -> None:
    st.set_page_config(page_title="ftrag: fine-tune or RAG?", page_icon=":material/balance:", layout="wide")
    pages = [
        st.Page(VIEWS / f, title=t, url_path=u, icon=i, default=n == 0)
        for n, (f, t, u, i) in enumerate(PAGE_SPECS)
    ]
    page = st.navigation(pages)
    st.sidebar.markdown("### ftrag: fine-tune or RAG?")
    ui.sidebar(ui.parse_args(sys.argv[1:]))
    page.run()


if __name__ == "__main__":
    main()
