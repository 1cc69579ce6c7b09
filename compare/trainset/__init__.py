"""Training data from documents alone: rule and model-written questions, the round trip, prompt
distillation, recipes chosen on dev, and the guard against dev/test look-alikes.

``stage.trainset_stage`` is the step ``ftrag bench`` runs when the train split is empty;
``ftrag data trainset`` (``cli``) writes the same items to a JSONL for a user to audit. Modules are
imported where used: ``config`` and ``report`` need no model, ``build`` and ``stage`` do.
"""
