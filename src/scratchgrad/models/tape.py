"""The fast training step: the textbook's layer loop, run on the framework's own primitives.

When every layer of a Sequential is made of known primitives (`layer.tape(training)` lists them as
(Function, parameters) steps), a training step calls each step's `forward` in order and each
`backward` in reverse —

    for step in steps:           h = step.forward(h, *params)
    for step in reversed(steps): g, *param_grads = step.backward(g)

— the same Function classes the autograd graph uses, minus the Tensor objects, the graph and its
topological sort. Layers that cannot be written this way (batch norm, custom layers) make the model
use the graph instead; both paths compute the same numbers (tests/test_fast_path.py).
"""


def build(layers, training):
    """The (Function, params) steps of all layers, or None if a layer has no tape form."""
    steps = []
    for layer in layers:
        layer_steps = layer.tape(training)
        if layer_steps is None:
            return None
        steps.extend(layer_steps)
    return steps


def forward(steps, x):
    """Run the steps' forwards; each op is told which inputs need gradients (none before the first
    trainable parameter, so e.g. the first layer skips its input gradient)."""
    h, upstream_trainable = x, False
    for fn, params in steps:
        if params:
            trainable = [p.requires_grad for p in params]
            fn.needs_grad = (upstream_trainable, *trainable)
            h = fn.forward(h, *[p.data for p in params])
            upstream_trainable = upstream_trainable or True in trainable
        else:
            fn.needs_grad = (upstream_trainable,)
            h = fn.forward(h)
    return h


def backward(steps, g, grad_views):
    """Run the backwards in reverse; parameter gradients go into `grad_views` ({id(param): array}),
    written there directly by the ops that take `grad_buffers`, copied there otherwise."""
    for fn, params in reversed(steps):
        views = [grad_views[id(p)] for p in params]
        if views:
            fn.grad_buffers = (None, *views)  # ops that can (Linear) write the gradients in place
        grads = fn.backward(g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for view, gp in zip(views, grads[1:]):
            if gp is not None and gp is not view:
                view[...] = gp
        g = grads[0]
        if g is None:
            break
