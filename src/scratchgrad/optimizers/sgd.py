"""SGD: plain gradient descent, with optional (Nesterov) momentum."""
from ..backend import array_module
from .base import Optimizer, check_fraction


class SGD(Optimizer):
    """Gradient descent, with optional momentum (Keras's form):

        plain:     w ← w - lr·g
        momentum:  v ← momentum·v - lr·g;   w ← w + v
        Nesterov:  v ← momentum·v - lr·g;   w ← w + momentum·v - lr·g
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        check_fraction("momentum", momentum)
        self.momentum, self.nesterov = momentum, nesterov
        self.slot_names = ("momentum",) if momentum else ()

    def update(self, w, g, slots, lr):
        xp, step = array_module(g), slots["scratch"]
        xp.multiply(g, lr, out=step)  # lr·g
        if not self.momentum:
            w -= step
            return
        v = slots["momentum"]
        v *= w.dtype.type(self.momentum)
        v -= step
        if self.nesterov:
            w -= step
            xp.multiply(v, w.dtype.type(self.momentum), out=step)
            w += step
        else:
            w += v

    def _hyperparameters(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}
