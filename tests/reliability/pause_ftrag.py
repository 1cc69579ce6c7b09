"""Run ``ftrag`` with a pause planted at one point, so a test can SIGKILL it exactly there.

    python pause_ftrag.py POINT MARKER ftrag-args...

POINT is ``index`` (the index is built and written to its staging folder, not yet swapped in),
``train`` (the first training checkpoint is on disk, training not finished) or ``answers`` (the
``ft`` system starts generating; earlier systems' answers are cached). At the point the process
writes MARKER and sleeps until it is killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def pause(marker: str) -> None:
    Path(marker).write_text("paused\n")
    while True:
        time.sleep(1)


def plant(point: str, marker: str) -> None:
    if point == "index":
        import retrieval.index as ix

        ix.replace_dir = lambda staging, target: pause(marker)
    elif point == "train":
        from finetune.train import AdapterTrainer

        save = AdapterTrainer.save_checkpoint

        def save_then_pause(self) -> None:
            save(self)
            pause(marker)

        AdapterTrainer.save_checkpoint = save_then_pause
    elif point == "answers":
        import compare.answering.systems as systems

        answer = systems.answer_questions

        def answer_or_pause(spec, *args, **kwargs):
            if spec.name == "ft":
                pause(marker)
            return answer(spec, *args, **kwargs)

        systems.answer_questions = answer_or_pause
    else:
        raise SystemExit(f"unknown pause point {point!r}")


if __name__ == "__main__":
    plant(sys.argv[1], sys.argv[2])
    from compare.cli import main

    sys.exit(main(sys.argv[3:]))
