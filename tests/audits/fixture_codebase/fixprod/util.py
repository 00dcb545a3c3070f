import json
import sys

from fixprod.legacy_api import old_call


def dump(value):
    return json.dumps(old_call(value))


def also_old(value):
    from fixprod.legacy_api import old_call as again

    return again(value)
