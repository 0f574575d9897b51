"""Learned routines and unusual-inactivity detection: pure, replayable, measurable."""

import os

# The routine's matrices are small (a few thousand spells by 100 lines): spreading them over threads costs
# more than it saves, and on a busy machine (the agent and its broker share a Pi's cores) the threads wait
# for each other. One thread, unless whoever runs sentinel asked otherwise. Set before numpy is imported.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")
