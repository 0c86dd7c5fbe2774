import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

from scratchgrad import weight_memory

# The suite's matrices are tiny: one BLAS thread is faster than two fighting over 2 cores, and
# results do not depend on how BLAS splits its sums.
threadpool_limits(1)

settings.register_profile("ci", max_examples=20, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def fresh_weight_blocks(monkeypatch):
    """Each test places its small weights from the start of a new block (weight_memory.py), so that whether a
    model's weights lie end to end does not depend on how much the tests before it placed."""
    monkeypatch.setattr(weight_memory, "_blocks", {})
