"""``ftrag sweep``: the fine-tuning rules of thumb measured on a corpus (grids, runs, report)."""
