"""Is an answer quoted from the chunks its system read? A short answer found word for word in a
retrieved chunk is one the page holds; one found nowhere the reader made up or paraphrased.

Two uses: the routed hybrid's ``verify`` takes the adapter's answer where RAG's chunk holds it
(compare.answering.routing), and the abstention gate's ``+quoted`` signals abstain where a
retrieving system's own answer is in none of its chunks (compare.pipeline.abstain).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from compare.scoring.scorers import bare_answer, is_abstention, normalize

# An answer longer than this is not checked against the chunks: a sentence is not quoted word for
# word, and a long span proves little about the question.
MAX_QUOTED_WORDS = 12


def quoted_chunk(
    text: str, chunk_ids: Sequence[str], chunk_text: Mapping[str, str], template: str | None
) -> str | None:
    """The first chunk that contains the answer ``text`` word for word (normalised, whole words;
    house style and ``[n]`` markers removed), or ``None``; an abstention or a long answer never is."""
    answer = normalize(bare_answer(text, template))
    if not answer or len(answer.split()) > MAX_QUOTED_WORDS or is_abstention(text):
        return None
    pattern = re.compile(rf"(?<!\w){re.escape(answer)}(?!\w)")
    return next((c for c in chunk_ids if pattern.search(normalize(chunk_text.get(c, "")))), None)
