"""``ftrag bench``: the pipeline of one run (index, adapters, dev tuning, answers, scenarios, report)."""
