"""The step plan: one recorded training step, replayed on raw arrays.

The first training step of a model runs eagerly inside `autograd.record()`, which lists every
Function call. `StepPlan` numbers the arrays of that step (slots) and keeps the Functions in call
order — already a topological order — with the slots of their inputs and output and which inputs need
a gradient. Later steps with the same shapes replay it, exactly as the textbook's layer loop runs:

    for fn, inputs, output in steps:            values[output] = fn.forward(*values[inputs])
    for fn, inputs, output in reversed(steps):  grads[inputs] += fn.backward(grads[output])

the same Function objects and arithmetic as the autograd graph, minus the Tensor objects, the graph
building and the sort. Sources of a step are its inputs (new arrays each step), the model's weights
(read live, so in-place updates are seen) and constants (numbers baked into the step). Two rewrites,
exact: a ReLU followed by a max pool of non-overlapping windows replays as one fused op, the pool then
the ReLU (`_fuse_relu_pool`), and a Linear whose output only a ReLU reads replays with it as one op
(`_fuse_linear_relu`).
"""
from operator import itemgetter

from .backend import array_module
from .convolution import MaxPool2D, MaxPool2DReLU, overlapping
from .functional import Linear, LinearReLU, ReLU


class StepPlan:
    """A replayable step: `forward(arrays)` then `backward(grad_buffers)`.

    `inputs` are the Tensors the step was recorded with (the batch), `outputs` the Tensors to return
    (the loss first), `weights` every weight Tensor the step may read, and `trainable` the weights that
    get gradients, in the order `backward` fills `grad_buffers` (kept as `self.trainable`).
    """

    hit_counter = None  # an op of the step whose forward counts the accuracy's hits, set by the trainer

    def __init__(self, recording, inputs, outputs, weights, trainable):
        self._slot, self._requires = {}, []
        self.sources, self.steps = [], []
        constants = []
        weight_ids = {id(w) for w in weights}
        self.input_slots = [self._new_slot(t, False) for t in inputs]
        for fn, ins, out, grad_mode in recording.calls:
            in_slots = tuple(self._source(t, weight_ids, constants) for t in ins)
            differentiable = fn.differentiable and grad_mode
            needs = tuple(self._requires[s] for s in in_slots) if differentiable else (False,) * len(ins)
            fn.inputs, fn.needs_grad = None, needs  # the plan keeps slots, not the recorded Tensors
            self.steps.append((fn, in_slots, self._new_slot(out, True in needs), needs))
        self.output_slots = [self._source(t, weight_ids, constants) for t in outputs]
        self.trainable = trainable
        position = {id(t): i for i, t in enumerate(trainable)}
        self._grad_index = {s: position[id(t)] for s, t in self.sources if id(t) in position}
        self._order_backward()
        self._replayed = False
        self._template = [None] * len(self._requires)  # the constants in their slots, copied per replay
        for slot, array in constants:
            self._template[slot] = array
        self._bound_buffers = None
        loss = outputs[0].data
        self._seed = array_module(loss).ones_like(loss)  # d loss / d loss
        self.dynamic = recording.dynamic  # the step read values into Python: replaying it could be wrong
        del self._slot  # drop the references to the recorded Tensors

    def _new_slot(self, tensor, requires):
        self._slot[id(tensor)] = slot = len(self._requires)
        self._requires.append(requires)
        return slot

    def _source(self, tensor, weight_ids, constants):
        slot = self._slot.get(id(tensor))
        if slot is None:
            is_weight = id(tensor) in weight_ids
            slot = self._new_slot(tensor, is_weight and tensor.requires_grad)
            if is_weight:
                self.sources.append((slot, tensor))
            else:
                constants.append((slot, tensor.data))
        return slot

    def _order_backward(self):
        """Per op in backward order: its output slot and, for each input that needs a gradient, (position,
        slot, weight index)."""
        self._backward_steps = [(fn, out, tuple((i, slot, self._grad_index.get(slot))
                                                for i, (slot, need) in enumerate(zip(ins, needs)) if need))
                                for fn, ins, out, needs in reversed(self.steps) if True in needs]

    def _fuse_relu_pool(self):
        """Replay ReLU then MaxPool2D as one MaxPool2DReLU, the pool then the ReLU: max(relu(x)) =
        relu(max(x)), and the gradient reaches the same element (a window's maximum, if positive; none
        otherwise), but the ReLU runs on the pooled map, a quarter of the size for 2×2 pools, and inside
        the pooling loops where they are compiled. Only where its windows do not overlap (where they do, a
        pixel's gradient sums several windows', and the two orders can give it zeros of opposite signs)."""
        self._fuse_pairs(lambda relu, pool: type(relu) is ReLU and type(pool) is MaxPool2D
                         and not overlapping(pool.pool_size, pool.strides),
                         lambda relu, pool: MaxPool2DReLU(pool.pool_size, pool.strides, pool.padding,
                                                          pool.channels_first))

    def _fuse_linear_relu(self):
        """Replay Linear then ReLU as one LinearReLU (functional.py): the same arithmetic in one op."""
        self._fuse_pairs(lambda linear, relu: type(linear) is Linear and type(relu) is ReLU,
                         lambda linear, relu: LinearReLU())

    def _fuse_pairs(self, matches, make):
        """Replace each two ops (a, b) where b is the one reader of a's output (not an output of the step) and
        matches(a, b) by the op make(a, b), reading a's inputs and writing b's output. Done at the first
        replay: the recorded step's backward reads its own ops."""
        users = {}
        for position, (_, ins, _, _) in enumerate(self.steps):
            for slot in ins:
                users.setdefault(slot, []).append(position)
        fused = {}  # b's position -> a's
        for i, (a, _, out, _) in enumerate(self.steps):
            after = users.get(out, [])
            if len(after) == 1 and out not in self.output_slots and matches(a, self.steps[after[0]][0]):
                fused[after[0]] = i
        for position, i in fused.items():
            a, ins, _, needs = self.steps[i]
            b, _, out, _ = self.steps[position]
            op = make(a, b)
            op.needs_grad = needs  # as __init__ sets it for the recorded ops
            self.steps[i] = op, ins, out, needs
        self.steps = [step for position, step in enumerate(self.steps) if position not in fused]
        self._order_backward()
        self._bound_buffers = None  # the new ops write their weights' gradients straight in too: bind again

    def forward(self, arrays):
        """Run the step's forwards on new input arrays; returns the output arrays."""
        if not self._replayed:
            self._fuse_relu_pool()
            self._fuse_linear_relu()
            self._forward_steps = [(fn, _inputs(ins), out) for fn, ins, out, _ in self.steps]
            self._replayed = True
        values = self._template[:]
        for slot, array in zip(self.input_slots, arrays):
            values[slot] = array
        for slot, tensor in self.sources:
            values[slot] = tensor.data
        for fn, inputs, out in self._forward_steps:
            values[out] = fn.forward(*inputs(values))
        return [values[s] for s in self.output_slots]

    def backward(self, grad_buffers):
        """Backpropagate from the first output (the loss) of the last forward, recorded or replayed
        (backward functions never write into the gradient they are given, so one seed serves).

        Each trainable weight's gradient is written into `grad_buffers[i]` (arrays of the weights'
        shapes, overwritten; zero where no gradient reached the weight).
        """
        self._bind(grad_buffers)
        grads = [None] * len(self._requires)
        grads[self.output_slots[0]] = self._seed
        written = [False] * len(grad_buffers)
        for fn, out, targets in self._backward_steps:
            g = grads[out]
            if g is None:
                continue
            grads[out] = None
            gxs = fn.backward(g)
            if type(gxs) is not tuple and not isinstance(gxs, tuple):  # (the type check is the fast path)
                gxs = (gxs,)
            for i, slot, index in targets:
                gx = gxs[i]
                if gx is None:
                    continue
                if index is None:
                    grads[slot] = gx if grads[slot] is None else grads[slot] + gx
                elif written[index]:
                    grad_buffers[index] += gx
                else:
                    written[index] = True
                    if gx is not grad_buffers[index]:
                        grad_buffers[index][...] = gx
        if False in written:
            for buffer, done in zip(grad_buffers, written):
                if not done:
                    buffer[...] = 0

    def _bind(self, grad_buffers):
        """Let each op that is a weight's only user write that weight's gradient straight into its
        buffer (`Function.grad_out`), saving a copy per step."""
        if self._bound_buffers is grad_buffers:
            return
        uses = {}
        for _, ins, _, _ in self.steps:
            for slot in ins:
                uses[slot] = uses.get(slot, 0) + 1
        for fn, ins, _, _ in self.steps:
            targets = [grad_buffers[self._grad_index[s]] if s in self._grad_index and uses[s] == 1 else None
                       for s in ins]
            fn.grad_buffers = tuple(targets) if any(t is not None for t in targets) else None
        self._bound_buffers = grad_buffers



def _inputs(slots):
    """A function giving an op's input arrays from the slots' values: for two or more, an itemgetter (one call
    of C where a list comprehension costs a fraction of a microsecond at every step)."""
    return itemgetter(*slots) if len(slots) > 1 else lambda values: [values[i] for i in slots]
