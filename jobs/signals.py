"""What jobs tell the apps whose objects they work on.

``job_finished(sender=Job, job=job)`` is sent once a job ends (succeeded,
failed or cancelled), inside the transaction that ends it and under the
job's row lock: a receiver that mirrors the end onto its target (a dream's
status) is atomic with it. Keep receivers to a write of the target's row;
an exception rolls the ending back.
"""

from __future__ import annotations

from django.dispatch import Signal

job_finished = Signal()
