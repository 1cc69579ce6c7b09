"""Scoring: scorers over one answer, the per-system evaluation, the metric registry, confidence
intervals and costs."""
