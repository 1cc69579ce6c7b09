"""The predicates the question rules consult, on the shapes the hand audits found (and their near
misses that must stay questions)."""

import pytest

from corpus.qafilters import attributive, circular, continues_list, infinitive, partial_instruction


@pytest.mark.parametrize(
    ("fn", "args", "expected"),
    [
        (infinitive, ("examine the response data",), True),
        (infinitive, ("a string",), False),
        (infinitive, ("True",), False),
        (continues_list, (", endpoint and values.",), True),
        (continues_list, (", and must return a response object.",), False),  # a second clause
        (continues_list, (".",), False),
        (attributive, ("4", "worker", " processes"), True),
        (attributive, ("89", "hours", " between charges"), False),  # counted, plural
        (attributive, ("1", "hour", " before"), False),
        (attributive, ("10", "MB", " limit"), False),  # a symbol
        (partial_instruction, ("a data method such as POST", ", and pass the body option."), True),
        (partial_instruction, ("the engine directly or use a connection", ":"), True),
        (partial_instruction, ("Signal.disconnect()", "."), False),
        (circular, ("the test_client() as a with block", "keep contexts until the with block exits"), True),
        (circular, ("the connect() method of a signal", "subscribe to a signal"), False),
    ],
)  # fmt: skip
def test_predicates(fn, args, expected) -> None:
    assert fn(*args) is expected
