"""The lm-evaluation-harness bridge: a dataset's QA as an lm-eval task, and the systems scored on it."""
