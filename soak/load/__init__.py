"""Synthetic load of RC soaks, run by Locust as its own process (docs/soak-load.md).

- ``profile``: the load profile (configs/soak/load_profile.yaml), pure;
- ``results``: Locust's CSV stats read into percentiles per request name, pure;
- ``runner``: the ``locust --headless`` subprocess started, stopped, waited for;
- ``locustfile``: what each simulated user does. Locust loads it by path, in
  its own process; nothing here imports it (gevent patches the interpreter).

The Django side (the ``soak`` tenant's key, the run as the sentinel starts it)
is ``soak.services.load``.
"""
