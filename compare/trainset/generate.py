"""The generator model's two jobs: write a question for an answer span, and read a page to answer one.

Both prompts are completion-style with worked examples, so a small instruct model and a base model
read them alike. The page a reader is given is quoted data (retrieval.context), as in the RAG system.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compare.harness.prompting import render_prompt
from retrieval.context import Context, numbered_block, rag_messages

# Worked examples of answer-aware question writing: fictional and domain-free, one per question type.
QG_EXAMPLES = (
    ("The Widget 7 weighs 3 kg and was designed by Ana Lind.", "Ana Lind", "Who designed the Widget 7?"),
    ("The Gadget 2 is made in Orla and went on sale in 2001.", "2001", "When did the Gadget 2 go on sale?"),
    ("To reset the counter, call reset_counter() with no arguments.", "reset_counter()",
     "Which function resets the counter?"),
    ("Uploads larger than 25 MB are rejected by the server.", "25 MB",
     "How large can an upload to the server be?"),
)  # fmt: skip
QG_INSTRUCTION = "Write one question that the text answers with exactly the given answer."


def question_prompt(evidence: str, answer: str) -> str:
    """The prompt asking for a question whose answer in ``evidence`` is ``answer``."""
    shots = "".join(f"Text: {t}\nAnswer: {a}\nQuestion: {q}\n\n" for t, a, q in QG_EXAMPLES)
    return f"{QG_INSTRUCTION}\n\n{shots}Text: {' '.join(evidence.split())}\nAnswer: {answer}\nQuestion:"


def reader_prompt(tokenizer: Any, question: str, context: str, doc_id: str, layout: str) -> str:
    """The harness's RAG prompt (three worked examples) with one quoted passage of the page."""
    block = numbered_block(1, f"{doc_id}#passage", context)
    ctx = Context(f"<documents>\n{block}\n</documents>", (f"{doc_id}#passage",), (doc_id,), 0, 0)
    return render_prompt(tokenizer, rag_messages(question, ctx, None, 3), layout)


def run(engine: Any, prompts: Sequence[str], desc: str) -> list[str]:
    """Greedy answers to ``prompts`` in order, with a progress bar."""
    from tqdm.auto import tqdm

    if not prompts:
        return []
    with tqdm(total=len(prompts), desc=desc, unit="q") as bar:
        return [g.text for g in engine.generate(list(prompts), bar.update)]


def first_line(text: str) -> str:
    """The model's output up to its first line break, without a stray "Question:" label."""
    line = text.strip().split("\n", 1)[0].strip()
    return line.removeprefix("Question:").strip()
