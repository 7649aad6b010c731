"""Shared test set-up: one BLAS thread per process, so the two xdist workers and the
kernels they start do not fight over the two cores."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
