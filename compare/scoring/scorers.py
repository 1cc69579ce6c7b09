"""Scorers: small pure functions over one answer, and one result contract for all of them.

Each scorer returns a float; :class:`Score` carries the name, value and direction so reports and
the recommender can treat every measure alike. Normalisation follows SQuAD's (lower case, drop
punctuation and articles, collapse spaces) so our exact match is comparable with lm-eval's.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ABSTAIN_PATTERNS = (
    r"\bi don'?t know\b", r"\bi do not know\b",
    r"\bnot (?:in|covered by|mentioned in) the (?:documents?|context)\b",
    r"\bno information\b", r"\bcannot (?:answer|find)\b", r"\bcan'?t (?:answer|find)\b",
    r"\bunknown\b", r"\bnot (?:documented|available)\b",
)  # fmt: skip
_ABSTAIN = re.compile("|".join(ABSTAIN_PATTERNS), re.IGNORECASE)
_PUNCT = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class Score:
    """One measured value with its direction: the contract every scorer result follows."""

    name: str
    value: float
    higher_is_better: bool = True


def bare_answer(text: str, template: str | None) -> str:
    """The answer without the house style's fixed text and without ``[n]`` markers: what accuracy
    is scored on, so a system is not punished twice (style is its own column)."""
    return strip_citations(strip_style(text, template))


def missing(value: object) -> bool:
    """No measurement: ``None`` or NaN (a score that does not apply, e.g. accuracy of an abstention)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: object, pattern: str = "{:.3f}") -> str:
    """A measurement as text; ``-`` where there is none."""
    return "-" if missing(value) else pattern.format(value)


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(answer: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised answer equals any normalised gold."""
    a = normalize(answer)
    return float(any(a == normalize(g) for g in golds))


def token_f1(answer: str, golds: Sequence[str]) -> float:
    """Best bag-of-tokens F1 against the golds."""
    pred = normalize(answer).split()
    best = 0.0
    for g in golds:
        gold = normalize(g).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if not pred or not gold or common == 0:
            best = max(best, float(pred == gold))
            continue
        p, r = common / len(pred), common / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def contains_gold(answer: str, golds: Sequence[str], question: str = "", max_tokens: int = 24) -> float:
    """1.0 if a gold appears in a short answer.

    Long answers and answers listing several candidate values do not score: without the cap a
    model could list every number it knows and be "correct". For a numeric gold, any other
    number in the answer (not one repeated from the question, such as a model number) voids it.
    """
    a = normalize(answer)
    if not a or len(a.split()) > max_tokens:
        return 0.0
    hit = any(re.search(rf"(?<!\w){re.escape(normalize(g))}(?!\w)", a) for g in golds if normalize(g))
    if not hit:
        return 0.0
    # numbers as the normalised answer spells them ("1.7" is "17" there once punctuation is gone)
    gold_numbers = {n for g in golds for n in re.findall(r"\d+(?:\.\d+)?", normalize(g))}
    asked = set(re.findall(r"\d+(?:\.\d+)?", normalize(question)))
    others = set(re.findall(r"\d+(?:\.\d+)?", a)) - gold_numbers - asked
    return 0.0 if gold_numbers and others else 1.0


def is_abstention(answer: str) -> bool:
    """Does the answer decline (``I don't know``, ``not in the documents`` ...)?"""
    return bool(_ABSTAIN.search(answer))


def abstention_correct(answer: str, answerable: bool) -> float:
    """Unanswerable: 1.0 when it abstains. Answerable: 1.0 when it does not."""
    return float(is_abstention(answer) != answerable)


def citation_precision(cited_docs: Sequence[str], gold_docs: Iterable[str]) -> float:
    """Share of cited documents that are gold sources; 0 when nothing is cited."""
    cited = list(dict.fromkeys(cited_docs))
    gold = set(gold_docs)
    return sum(d in gold for d in cited) / len(cited) if cited else 0.0


def citation_recall(cited_docs: Sequence[str], gold_docs: Iterable[str]) -> float:
    """Share of gold sources that are cited; 0 when there are none."""
    gold = set(gold_docs)
    return len(gold & set(cited_docs)) / len(gold) if gold else 0.0


def grounded_correct(correct: float, cited_texts: Sequence[str], golds: Sequence[str]) -> float:
    """1.0 when the answer is correct *and* a cited chunk contains a gold answer."""
    if not correct:
        return 0.0
    texts = [normalize(t) for t in cited_texts]
    return float(any(normalize(g) and normalize(g) in t for g in golds for t in texts))


def style_compliant(answer: str, pattern: str) -> float:
    """1.0 when the whole answer matches the house-style regular expression."""
    return float(re.fullmatch(pattern, answer.strip(), flags=re.DOTALL) is not None)


def strip_style(answer: str, template: str | None) -> str:
    """The answer without the house style's fixed text (``{answer} -- Tessaline Care`` -> the
    answer), so accuracy is scored on content and style is scored on its own."""
    if not template or "{answer}" not in template:
        return answer.strip()
    head, tail = (t.strip() for t in template.split("{answer}", 1))
    text = answer.strip()
    if head and text.lower().startswith(head.lower()):
        text = text[len(head) :]
    if tail and text.lower().endswith(tail.lower()):
        text = text[: -len(tail)]
    return text.strip()


def strip_citations(answer: str) -> str:
    """The answer without ``[n]`` citation markers (a cited ``94 hours [1]`` is ``94 hours``: the
    marker is attribution, scored on its own, and its number must not void a numeric answer)."""
    return " ".join(re.sub(r"\[\d{1,3}\]", " ", answer).split())


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]), as numpy's default; nan when empty."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def break_even_queries(upfront_a: float, per_query_a: float, upfront_b: float, per_query_b: float) -> float:
    """Query volume at which A's extra up-front cost is paid back by its lower per-query cost.

    Returns ``inf`` when A never catches up and 0 when A is cheaper from the start.
    """
    extra, saving = upfront_a - upfront_b, per_query_b - per_query_a
    if extra <= 0 and saving >= 0:
        return 0.0
    if saving <= 0:
        return math.inf
    return extra / saving
