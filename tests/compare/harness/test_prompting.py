"""Batch plans and where each row of a batch starts computing (pure functions over token ids)."""

from __future__ import annotations

import pytest

from compare.harness.prompting import MIN_SHARED, plan_batches, prefix_sources

DOC_A = list(range(100, 100 + MIN_SHARED + 4))  # a quoted chunk, longer than MIN_SHARED
DOC_B = list(range(200, 200 + MIN_SHARED + 4))
HEAD = [1, 2, 3]  # what every row of the batch shares


@pytest.mark.parametrize(
    "rows, shared, expected",
    [
        # two rows quoting one chunk: the second goes on from the first's cells
        ([HEAD + DOC_A + [7], HEAD + DOC_A + [8]], 3, [(-1, 3), (0, 3 + len(DOC_A))]),
        # different chunks: both from the batch's prefix
        ([HEAD + DOC_A + [7], HEAD + DOC_B + [8]], 3, [(-1, 3), (-1, 3)]),
        # a follower's source is the first row with the longest common prefix
        (
            [HEAD + DOC_A + [7], HEAD + DOC_B + [8], HEAD + DOC_B + [9], HEAD + DOC_A + [9]],
            3,
            [(-1, 3), (-1, 3), (1, 3 + len(DOC_B)), (0, 3 + len(DOC_A))],
        ),
        # fewer than MIN_SHARED tokens beyond the batch's prefix are not worth a second wave
        ([HEAD + DOC_A[:5] + [7], HEAD + DOC_A[:5] + [8]], 3, [(-1, 3), (-1, 3)]),
        # a row equal to an earlier one keeps its last token to compute (its logits are needed)
        ([HEAD + DOC_A, HEAD + DOC_A], 3, [(-1, 3), (0, 2 + len(DOC_A))]),
        ([], 0, []),
    ],
)
def test_prefix_sources(rows: list, shared: int, expected: list) -> None:
    got = prefix_sources(rows, shared)
    assert got == expected
    for i, (src, start) in enumerate(got):
        assert start < len(rows[i])  # every row keeps at least one token of its own
        if src >= 0:
            assert got[src][0] == -1 and rows[src][:start] == rows[i][:start]


def test_batches_by_length_or_by_prefix() -> None:
    prompts = ["ccc", "a", "bbbb", "dd", "e", "ab"]
    assert plan_batches(prompts, 2) == [[1, 4], [3, 5], [0, 2]]
    assert plan_batches(prompts, 2, "prefix") == [[1, 5], [2, 0], [3, 4]]
    assert plan_batches([], 4, "prefix") == []
    with pytest.raises(ValueError, match="batch plan must be one of length, prefix"):
        plan_batches(prompts, 2, "random")
