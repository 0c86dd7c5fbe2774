"""The autograd engine: `Function` (one op with forward and backward) and reverse-mode backprop.

A Function's `forward(*arrays)` computes on raw arrays and saves on `self` what its `backward` needs;
`backward(grad_out)` returns one gradient per input (None where an input needs none). Calling a
Function on Tensors records it as the creator of its output when grad mode is on and an input
requires grad: that chain of creators is the define-by-run graph.
"""
import contextlib
import threading


class _GradMode(threading.local):
    """Per thread, so one thread's no_grad() never switches graph building off in another."""

    enabled = True


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


class Function:
    """Base of every primitive. Subclasses implement `forward(*arrays)` and `backward(gy)`.

    `needs_grad[i]` tells `backward` whether input i wants a gradient, so it can skip work
    (e.g. the input gradient of a network's first layer).
    """

    inputs = None  # set when the op is recorded in a graph; None again once the graph is freed
    needs_grad = ()
    grad_buffers = None  # the training fast path may give backward arrays to write gradients into

    def __call__(self, *inputs):
        y = self.forward(*[t.data for t in inputs])
        if _mode.enabled:
            needs = tuple(t.requires_grad for t in inputs)
            if True in needs:
                self.inputs = inputs
                self.needs_grad = needs
                return Tensor._from_op(y, self)
        return Tensor._from_op(y, None)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def grad_out(self, i):
        """The array to write input i's gradient into, or None (then backward allocates one)."""
        return None if self.grad_buffers is None else self.grad_buffers[i]

    def release(self):
        """Drop the inputs and everything forward saved: the graph's memory goes back right away."""
        self.__dict__.clear()

    def __repr__(self):
        return f"<{type(self).__name__}>"


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


def backward(root, grad, retain_graph=False):
    """Backpropagate `grad` (d out / d root) through the graph and accumulate leaf `.grad`s."""
    order = topological_order(root)
    grads = {id(root): grad}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        f = t.creator
        if f is None or t._retain_grad:
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


from .tensor import Tensor  # noqa: E402  (Tensor needs this module; Function needs Tensor)
