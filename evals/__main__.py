"""``python -m evals``: see evals/runner.py and docs/evals.md."""

from evals.runner import main

raise SystemExit(main())
