"""The harness every system runs in: the systems and their specs, the records of each answer, prompts,
the stage cache and where the work runs."""
