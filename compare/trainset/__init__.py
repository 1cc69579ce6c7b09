"""Training data from documents alone: rule and model-written questions, the round trip, prompt
distillation, recipes chosen on dev, and the guard against dev/test look-alikes.

``build_trainset`` is the stage ``ftrag bench`` runs when the train split is empty, and
``ftrag data trainset`` writes the same items to a JSONL for a user to audit.
"""

from compare.trainset.build import Trainset, build_trainset
from compare.trainset.config import RECIPES, TrainsetConfig
from compare.trainset.stage import trainset_stage, with_train

__all__ = ["RECIPES", "Trainset", "TrainsetConfig", "build_trainset", "trainset_stage", "with_train"]
