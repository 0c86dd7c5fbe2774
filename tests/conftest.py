import numpy as np
import pytest
from hypothesis import settings
from threadpoolctl import threadpool_limits

# The suite's matrices are tiny: one BLAS thread is faster than two fighting over 2 cores, and
# results do not depend on how BLAS splits its sums.
threadpool_limits(1)

settings.register_profile("ci", max_examples=20, deadline=None)
settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
