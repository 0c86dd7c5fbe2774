"""Mini-batches for hand-written training loops."""
import numpy as np

from ..random import get_rng
from ..utils import as_array


class DataLoader:
    """Iterate over (xb, yb) mini-batches of NumPy arrays, or xb alone when `y` is None.

    Every `iter()` is one epoch. With shuffle=True each epoch draws a new permutation: from a generator seeded
    once with `seed` (so the sequence of epochs is reproducible), or from the framework generator at use time
    (so `scratchgrad.random.set_seed` governs it). The last batch may be short unless drop_last=True.
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=False, drop_last=False, seed=None):
        self.x = as_array(x, "x")
        self.y = None if y is None else as_array(y, "y")
        if self.x.ndim == 0:
            raise ValueError("x must have a sample axis, got a scalar")
        if self.y is not None and (self.y.ndim == 0 or len(self.y) != len(self.x)):
            y_count = "a scalar" if self.y.ndim == 0 else f"{len(self.y)} samples"
            raise ValueError(
                f"x and y must hold the same number of samples, got x: {len(self.x)} samples, y: {y_count}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self):
        full, rest = divmod(len(self.x), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        order = self._permutation()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            stop = start + self.batch_size
            # a slice keeps unshuffled batches as views instead of copies
            index = slice(start, stop) if order is None else order[start:stop]
            xb = self.x[index]
            yield xb if self.y is None else (xb, self.y[index])

    def _permutation(self):
        """This epoch's sample order, or None to keep the stored order."""
        if not self.shuffle:
            return None
        rng = self._rng if self._rng is not None else get_rng()
        return rng.permutation(len(self.x))
