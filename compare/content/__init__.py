"""``ftrag content-report``: every page as a retrieval target and as a training signal."""
