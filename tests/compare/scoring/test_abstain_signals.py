"""The abstention signals: the names a question asks about, and how well quoted text supports it."""

import numpy as np
import pytest

from compare.scoring.abstain_signals import common_names, found_share, question_names, scores, without

AXES = ("weight", "colour", "price", "lamp")


def embed(texts):
    """A keyword embedder: one axis per word of AXES, so every cosine is known exactly."""
    v = np.array([[float(a in t.lower()) for a in AXES] for t in texts]) + 1e-9
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("If I buy a Mavquo 50, how long am I covered by the warranty?", ["Mavquo 50"]),
        ("Name the person responsible for designing the Brisil 40 Pro.", ["Brisil 40 Pro"]),
        ("Which Bluetooth version does the Mavquo 3 Pro support?", ["Bluetooth", "Mavquo 3 Pro"]),
        ("What does SESSION_COOKIE_AGE default to in Django?", ["SESSION_COOKIE_AGE", "Django"]),
        ("How do I call `json.dumps()` on QuerySet.filter() results?", ["json.dumps()", "QuerySet.filter()"]),
        ("What does the reverse() function return?", ["reverse()"]),
        ("Does Django support HTTP/2?", ["Django", "HTTP/2"]),
        ("What is a savepoint?", []),
        ("Who makes it, Acme or Acme?", ["Acme"]),
    ],
)
def test_question_names(question, names):
    assert question_names(question) == names


def test_found_share_counts_whole_names_only():
    quoted = "The Mavquo 3 Pro ships in May. Use `SESSION_COOKIE_AGE` for it."
    assert found_share(["Mavquo 3 Pro", "SESSION_COOKIE_AGE"], quoted) == 1.0
    assert found_share(["Mavquo 3"], quoted) == 1.0
    assert found_share(["Mavquo 30", "SESSION_COOKIE_AGE"], quoted) == 0.5
    assert found_share([], quoted) == 1.0


def test_common_names_are_those_on_over_a_fifth_of_the_chunks_and_on_enough_of_them():
    corpus = ["Django serves pages.", "Django caches.", "The Brisil 8.", "Plain text.", "More text."]
    assert common_names(["Django", "Brisil 8", "Nowhere"], corpus, least=2) == {"Django"}
    assert common_names(["Django", "Brisil 8", "Nowhere"], corpus) == set()  # 2 chunks are not 10
    assert common_names(["Django"], corpus * 5) == {"Django"}


def test_without_takes_names_out_longest_first():
    assert without("What is the price of the Lamp 4 Pro, not the Lamp 4?", ["Lamp 4", "Lamp 4 Pro"]) == (
        "What is the price of the , not the ?"
    )


def test_support_and_grounding_on_a_known_embedder():
    """Support ranks the other lamp's chunk highest (its sentence names a lamp and a weight);
    grounding asks about this lamp's weight: a chunk naming it without a weight scores 0, and one
    naming another lamp scores 0."""
    chunks = {
        "a#0": "The Lamp 4 has a red colour here. Its weight is 3 kg today.",
        "b#0": "The Lamp 4 has a red colour.",
        "c#0": "The Lamp 5 weight is 2 kg.",
    }
    asked = ["What weight has the Lamp 4?"] * 3 + ["no chunk"]
    quoted = [["a#0"], ["b#0"], ["c#0"], []]
    support = scores("support", asked, quoted, chunks, embed)
    grounding = scores("grounding", asked, quoted, chunks, embed)
    assert support[:3] == pytest.approx([2**-0.5, 0.5, 1.0]) and support[3] == -1.0
    assert grounding[:3] == pytest.approx([1.0, 0.0, 0.0], abs=1e-6) and grounding[3] == -1.0


def test_names_is_the_share_of_names_quoted():
    chunks = {"a#0": "The Lamp 4 weighs 3 kg.", "b#0": "The Lamp 5 weighs 2 kg.", "c#0": "Plain."}
    asked = ["How heavy is the Lamp 4?", "How heavy is the Lamp 4?", "How heavy is it?", "Lamp 4?"]
    quoted = [["a#0"], ["b#0", "c#0"], ["c#0"], []]
    assert scores("names", asked, quoted, chunks, embed) == [1.0, 0.0, 1.0, -1.0]


def test_grounding_compares_the_whole_question_when_its_names_are_all_it_asks():
    chunks = {"a#0": "The price of the Lamp 4 is 9 euro."}
    got = scores("grounding", ["Lamp 4 price?"], [["a#0"]], chunks, embed)
    assert got == pytest.approx([1.0])  # "price?" alone has too few words: names kept in
