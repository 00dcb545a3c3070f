"""Eval cases for the /v1 façade, run through the official openai SDK (``python -m evals``).

The case format is described in ``docs/evals.md``; the runner in
``evals/runner.py``; the throwaway server ``make evals`` starts in
``evals/server.py``.
"""
