import os

from fixlabs import experimental


def run(value):
    if value == None:
        return experimental.guess()
    return value
