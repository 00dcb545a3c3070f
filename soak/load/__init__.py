"""Synthetic load of RC soaks, run by Locust as its own process (docs/soak-load.md).

- ``profile``: the load profile (configs/soak/load_profile.yaml), pure;
- ``results``: Locust's CSV stats read into percentiles per request name, pure;
- ``runner``: the ``locust --headless`` subprocess started, stopped, waited for;
- ``control``: the ``soak`` tenant's key and the load as soak runs and the
  ``soak_load`` command start, stop and read it (re-exported here and by
  ``soak.services``);
- ``locustfile``: what each simulated user does. Locust loads it by path, in
  its own process; nothing imports it (gevent patches the interpreter).
"""

from soak.load.control import (
    LOAD_KEY_NAME,
    LOAD_TENANT,
    LoadProcess,
    load_lease_renew,
    load_profile_read,
    load_results,
    load_start,
    load_stop,
    load_wait,
    soak_api_key_ensure,
)

__all__ = [
    "LOAD_KEY_NAME",
    "LOAD_TENANT",
    "LoadProcess",
    "load_lease_renew",
    "load_profile_read",
    "load_results",
    "load_start",
    "load_stop",
    "load_wait",
    "soak_api_key_ensure",
]
