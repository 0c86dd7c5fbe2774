"""The autograd engine: `Function` (one op with forward and backward) and reverse-mode backprop.

A Function's `forward(*arrays)` computes on raw arrays and saves on `self` what its `backward` needs;
`backward(grad_out)` returns one gradient per input (None where an input needs none). Calling a
Function on Tensors records it as the creator of its output when grad mode is on and an input
requires grad: that chain of creators is the define-by-run graph.

Inside `record()`, every Function call is also listed in call order, whether it needs a gradient or
not: that list is what `plan.StepPlan` turns into a replayable training step.
"""
import contextlib
import threading

from .backend import array_module


class _GradMode(threading.local):
    """Per thread, so one thread's no_grad() never switches graph building off in another."""

    enabled = True
    recording = None  # the Recording that Function calls are appended to, inside record()


_mode = _GradMode()


def is_grad_enabled():
    return _mode.enabled


@contextlib.contextmanager
def _set_grad_enabled(mode):
    previous, _mode.enabled = _mode.enabled, mode
    try:
        yield
    finally:
        _mode.enabled = previous


def no_grad():
    """Context manager (and decorator) under which ops build no graph: inference, weight updates."""
    return _set_grad_enabled(False)


def enable_grad():
    """Context manager that turns graph building back on inside `no_grad`."""
    return _set_grad_enabled(True)


class Recording:
    """Every Function call of one eager step, in call order: (function, input Tensors, output Tensor,
    whether grad mode was on — an op run under no_grad passes no gradient when replayed either).

    `dynamic` turns True when a tensor's values reached Python meanwhile (`bool(t)`, `t.item()`,
    `t.numpy()`, comparisons, tensor indices): the step may then branch on the data, so it must not be
    replayed for other data.
    """

    def __init__(self):
        self.calls = []
        self.dynamic = False


@contextlib.contextmanager
def record():
    """List every Function call made inside the block (see Recording)."""
    recording, previous = Recording(), _mode.recording
    _mode.recording = recording
    try:
        yield recording
    finally:
        _mode.recording = previous


@contextlib.contextmanager
def unrecorded():
    """A block whose Function calls a step's recording does not list: the inside of one recorded op (a
    custom gradient's function), which the op runs again whenever it is replayed."""
    previous, _mode.recording = _mode.recording, None
    try:
        yield
    finally:
        _mode.recording = previous


def values_escaped():
    """Note that a tensor's values were read into Python: a step being recorded becomes dynamic."""
    if _mode.recording is not None:
        _mode.recording.dynamic = True


class Function:
    """Base of every primitive. Subclasses implement `forward(*arrays)` and `backward(gy)`.

    `needs_grad[i]` tells `backward` whether input i wants a gradient, so it can skip work
    (e.g. the input gradient of a network's first layer). `differentiable = False` marks an op that
    passes no gradient at all (stop_gradient / detach).
    """

    inputs = None  # set when the op is recorded in a graph; None again once the graph is freed
    needs_grad = ()
    differentiable = True
    grad_buffers = None  # a step plan may give backward arrays to write weight gradients into

    def __call__(self, *inputs):
        y = self.forward(*[t.data for t in inputs])
        creator = None
        if _mode.enabled and self.differentiable:
            needs = tuple(t.requires_grad for t in inputs)
            if True in needs:
                self.inputs, self.needs_grad, creator = inputs, needs, self
        out = Tensor._from_op(y, creator)
        if _mode.recording is not None:
            _mode.recording.calls.append((self, inputs, out, _mode.enabled))
        return out

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def backward(self, gy):
        raise NotImplementedError(f"{type(self).__name__} has no backward(): it cannot pass gradients")

    def grad_out(self, i):
        """The array to write input i's gradient into, or None (then backward allocates one)."""
        return None if self.grad_buffers is None else self.grad_buffers[i]

    def scratch(self, name, shape, dtype, xp):
        """An uninitialized work array that only this op uses (never returned), the same one at each call
        with the same shape and dtype. A step plan replays the same op at every step, so its large
        temporaries are allocated once: memory freed and allocated anew costs a page fault per 4 KiB page
        (`python benchmarks/kernels.py` times both ways)."""
        kept = self.__dict__.setdefault("_scratch", {})
        array = kept.get(name)
        if array is None or array.shape != shape or array.dtype != dtype or array_module(array) is not xp:
            array = kept[name] = xp.empty(shape, dtype)
        return array

    def release(self):
        """Drop the inputs and everything forward saved: the graph's memory goes back right away."""
        self.__dict__.clear()

    def __repr__(self):
        return f"<{type(self).__name__}>"


class StopGradient(Function):
    """The identity that passes no gradient back: what `Tensor.detach()` records in a step."""

    differentiable = False

    def forward(self, x):
        return x


def topological_order(root):
    """Tensors reachable from `root` through recorded ops, inputs before outputs.

    Iterative depth-first post-order: no recursion limit, and linear in the size of the graph
    (each tensor is visited once; nothing is re-sorted as the graph widens).
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        f = t.creator
        if f is not None and f.inputs is not None:
            stack.extend((x, False) for x in f.inputs if x.requires_grad and id(x) not in seen)
    return order


def backward(root, grad, retain_graph=False, capture=None):
    """Backpropagate `grad` (d out / d root) through the graph and accumulate leaf `.grad`s.

    With `capture` (a set of tensor ids), no `.grad` is touched: the gradients reaching those tensors
    (leaves or not) are returned as {id: array} instead — what GradientTape.gradient uses.
    """
    order = topological_order(root)
    grads, captured = {id(root): grad}, {}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        f = t.creator
        if capture is not None:
            if id(t) in capture:
                captured[id(t)] = g
        elif f is None or t._retain_grad:
            t.grad = g if t.grad is None else t.grad + g
        if f is None:
            continue
        if f.inputs is None:
            raise RuntimeError(
                "backward() through a graph that was already freed: the first backward() released it; "
                "pass retain_graph=True to the first call to backpropagate twice"
            )
        gxs = f.backward(g)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for x, gx, need in zip(f.inputs, gxs, f.needs_grad):
            if need and gx is not None:
                key = id(x)
                grads[key] = gx if key not in grads else grads[key] + gx
        if not retain_graph:
            f.release()
    return captured


class GradientTape:
    """Keras's (TensorFlow's) way to get gradients: record a computation, then ask for gradients.

        with GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    Weights (tensors that require grad) are watched automatically; `tape.watch(x)` makes any other
    tensor a source. A tape answers one `gradient()` call unless `persistent=True`. Unlike
    `loss.backward()`, it leaves every `.grad` untouched and returns the gradients as Tensors (None
    for a source the target does not depend on).
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = persistent
        self._watched, self._used, self._mode = [], False, None

    def __enter__(self):
        self._mode = enable_grad()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        self._mode.__exit__(*exc)

    def watch(self, tensor):
        """Make `tensor` (or each tensor in a list) a source that gradients can be asked for."""
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            if not t.requires_grad:
                t.requires_grad_(True)
                self._watched.append(t)

    def gradient(self, target, sources, output_gradients=None):
        """d target / d source for each source (a Tensor, or a list/dict of them); several targets are
        summed. Returns Tensors in the shape of `sources`."""
        from . import tree

        if self._used and not self.persistent:
            raise RuntimeError("a GradientTape answers one gradient() call; use GradientTape(persistent=True) "
                               "for several")
        self._used = True
        leaves, targets = tree.flatten(sources), tree.flatten(target)
        seeds = tree.flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        total = {}
        for i, (t, seed) in enumerate(zip(targets, seeds)):
            if not t.requires_grad:
                continue
            xp = array_module(t.data)
            seed = xp.ones_like(t.data) if seed is None else xp.asarray(getattr(seed, "data", seed), dtype=t.dtype)
            keep = self.persistent or i < len(targets) - 1
            for key, g in backward(t, seed, retain_graph=keep, capture={id(x) for x in leaves}).items():
                total[key] = g if key not in total else total[key] + g
        if not self.persistent:
            for t in self._watched:
                t.requires_grad_(False)
        return tree.pack_like(sources, [None if id(x) not in total else Tensor._from_op(total[id(x)], None)
                                        for x in leaves])


from .tensor import Tensor  # noqa: E402  (Tensor needs this module; Function needs Tensor)
