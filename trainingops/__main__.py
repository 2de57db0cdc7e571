"""``python -m trainingops …``: the same commands as the ``trainingops`` console script."""

from trainingops.cli import main

main()
