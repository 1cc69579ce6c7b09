"""Answering the questions: the systems a bench compares (their specs and one interface over
them) and where their generation runs (this process or a Ray cluster)."""
