import pytest

from fixprod.core import engine
from fixprod.util import dump


def test_run_passes_values_through():
    assert engine.run(3) == 3


def test_run_guesses_for_none():
    assert engine.run(None) == 2


def test_dump():
    assert dump([1]) == "[1]"


def test_this_one_fails():
    assert engine.run(1) == 2


@pytest.mark.skip(reason="kept skipped on purpose")
def test_skipped():
    raise AssertionError
