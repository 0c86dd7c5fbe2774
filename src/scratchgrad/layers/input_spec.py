"""keras.layers.InputSpec: what a layer says its inputs must be (rank, dtype, sizes of given axes). A layer
that sets `self.input_spec` (one spec, or a list of them for several inputs) has each call's inputs checked
against it before anything runs, with Keras's messages."""
import numpy as np

from .. import tree


class InputSpec:
    """The rank (`ndim`, or a `min_ndim`/`max_ndim` range), `dtype`, full `shape` (None: any size) or
    sizes of some `axes` ({axis: size}) an input must have; `allow_last_axis_squeeze` lets a rank differ
    by a last axis of 1; `optional` inputs may be None."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else np.dtype(dtype).name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim, self.name, self.optional = max_ndim, min_ndim, name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(axis): size for axis, size in (axes or {}).items()}
        rank = self.ndim or self.max_ndim
        if self.axes and rank and max(self.axes) > rank - 1:
            raise ValueError(f"InputSpec: axis {max(self.axes)} is greater than the maximum allowed value: {rank - 1}")

    def __repr__(self):
        given = {k: v for k, v in self.get_config().items() if v is not None and v != {}}
        return "InputSpec(" + ", ".join(f"{k}={v}" for k, v in given.items()) + ")"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def check_inputs(specs, inputs, layer_name):
    """Raise ValueError, as Keras's assert_input_compatibility words it, where an input breaks its spec."""
    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    flat = tree.flatten(inputs)
    if len(flat) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received {len(flat)} '
                         f"input tensors. Inputs received: {inputs!r:.200}")
    for i, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None or (x is None and spec.optional):
            continue
        shape = tuple(getattr(x, "shape", np.shape(x)))
        problem = _problem(spec, shape, getattr(x, "dtype", None))
        if problem:
            raise ValueError(f'Input {i} of layer "{layer_name}" is incompatible with the layer: {problem}. '
                             f"Full shape received: {shape}")


def _problem(spec, shape, dtype):
    ndim = len(shape)
    if spec.ndim is not None and ndim != spec.ndim and not spec.allow_last_axis_squeeze:
        return f"expected ndim={spec.ndim}, found ndim={ndim}"
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        return f"expected max_ndim={spec.max_ndim}, found ndim={ndim}"
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        return f"expected min_ndim={spec.min_ndim}, found ndim={ndim}"
    if spec.dtype is not None and dtype is not None and np.dtype(dtype).name != spec.dtype:
        return f"expected dtype={spec.dtype}, found dtype={np.dtype(dtype).name}"
    for axis, size in spec.axes.items():
        if size is not None and (not -ndim <= axis < ndim or shape[axis] not in (size, None)):
            return f"expected axis {axis} of input shape to have value {size}, but received input with shape {shape}"
    if spec.shape is not None and any(want not in (None, got) and got is not None
                                      for want, got in zip(*_squeezed(spec, spec.shape, shape))):
        return f"expected shape={spec.shape}, found shape={shape}"
    return None


def _squeezed(spec, wanted, shape):
    """Both shapes without a last axis of 1 where the spec allows one to differ (Keras's rule)."""
    if not spec.allow_last_axis_squeeze:
        return wanted, shape
    return tuple(s[:-1] if s and s[-1] == 1 else s for s in (wanted, shape))
