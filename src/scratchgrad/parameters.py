"""Flat parameters: a model's trainable weights as views of one contiguous buffer.

An optimizer step is a handful of vectorized operations per parameter. For a small net those
operations cost more in call overhead than in arithmetic, so we lay all parameters end to end in one
array (each weight Tensor's data becomes a view of its slice) and let the optimizer update that one
array: the same formula, one pass instead of one per parameter.
"""
import numpy as np

from .backend import array_module
from .tensor import Tensor


class FlatParameters:
    """`tensor` is the whole buffer as one parameter (what the optimizer sees); `grad` is the matching
    gradient buffer that a training step fills slice by slice before the update."""

    def __init__(self, params):
        xp = array_module(params[0].data)
        self.params = list(params)
        self.offsets = np.cumsum([0] + [p.size for p in self.params])
        buffer = xp.empty(int(self.offsets[-1]), dtype=params[0].dtype)
        for p, view in zip(self.params, self._views(buffer)):
            view[...] = p.data
            p.data = view
        self.tensor = Tensor(buffer, dtype=buffer.dtype, requires_grad=True, name="flat_parameters")
        self.grad = xp.zeros_like(buffer)
        self.grad_views = self._views(self.grad)

    @staticmethod
    def eligible(params):
        return bool(params) and len({p.dtype for p in params}) == 1

    def _views(self, flat):
        return [flat[a:b].reshape(p.shape) for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:])]

    def intact(self, params):
        """Whether `params` are still exactly the packed ones, each still a view of the buffer."""
        return len(params) == len(self.params) and all(
            p is q and p.data.base is self.tensor.data for p, q in zip(params, self.params))

    def collect_grads(self):
        """Copy each parameter's .grad into the flat gradient (zero where none) and clear it."""
        for p, view in zip(self.params, self.grad_views):
            if p.grad is None:
                view[...] = 0
            else:
                view[...] = p.grad
                p.grad = None

    def split(self, flat_arrays):
        """{name: flat array} -> one {name: array shaped like the parameter} per parameter."""
        return [{k: v[a:b].reshape(p.shape) for k, v in flat_arrays.items()}
                for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:])]

    def merge(self, per_parameter):
        """The inverse of split: per-parameter slot dicts -> one dict of flat arrays (shapes checked)."""
        if len(per_parameter) != len(self.params):
            raise ValueError(f"optimizer state has slots for {len(per_parameter)} weights, the model has "
                             f"{len(self.params)}")
        for p, slots in zip(self.params, per_parameter):
            for name, value in slots.items():
                if np.shape(value) != p.shape:
                    raise ValueError(f"optimizer slot {name} of {p.name} has shape {np.shape(value)}, expected {p.shape}")
        return {k: np.concatenate([np.asarray(s[k]).reshape(-1) for s in per_parameter]) for k in per_parameter[0]}
