"""The recurrent loops as Functions: SimpleRNN, LSTM and GRU over a whole sequence, forward through time
and backward through time side by side, on raw arrays (the step plan replays each loop as one op).

SimpleRNN and GRU take the input part of every step, x_t·W + b, as one product over all steps made before
the loop (`functional.linear`); the loop adds only h_{t-1}·U. The LSTM makes both parts in one product
per step (see LSTMLoop). Each loop takes its input time-major, (steps, batch, ·), so every step reads
and writes contiguous rows; then the initial state(s), the weights and, for a padded batch, a mask
(batch, steps): at a masked step every state is carried over unchanged (Keras's rule), so padding
changes nothing. Outputs are time-major too. The weight gradient of U is one product over all steps
after the loop, not one small product per step.
"""
import functools

import numpy as np

from . import compiled, threads
from . import functional as F
from .activations import Softsign
from .autograd import Function
from .backend import array_module
from .compiled import HALF, ONE
from .random import generator


class Identity(Function):
    def forward(self, x):
        return x

    def backward(self, gy):
        return gy


class GateSigmoid(F.Sigmoid):
    """σ as the cells compute it: (1 + tanh(z/2))/2, which is 1/(1 + exp(-z)) in exact arithmetic, by one tanh,
    which NumPy runs about twice as fast as exp here (an LSTM step's σ is most of its cell's time), and which
    cannot overflow. Its error is absolute, at most an ulp of 1 (6e-8 in float32): for very negative z, where
    σ ≈ e^z, it loses relative precision (and gives 0 below z ≈ -20 in float32), which a gate's products
    cannot show. The backward is Sigmoid's, σ·(1 - σ)."""

    def forward(self, x):
        xp = array_module(x)
        y = xp.asarray(xp.tanh(x * 0.5))  # an array even for a 0-d x, so that the in-place steps work
        y *= 0.5
        y += 0.5
        self.y = y
        return y


# The activations a loop can run on raw arrays: each is one Function with its own backward.
CELL_ACTIVATIONS = {"tanh": F.Tanh, "sigmoid": GateSigmoid, "relu": F.ReLU, "elu": F.ELU, "softsign": Softsign,
                    "linear": Identity, None: Identity}


def cell_activation(name, role):
    if name not in CELL_ACTIVATIONS:
        raise ValueError(f"{role}={name!r} is not available in a recurrent layer (its loop runs on raw arrays); "
                         f"expected one of {', '.join(repr(k) for k in CELL_ACTIVATIONS if k)}")
    return CELL_ACTIVATIONS[name]


class _Recurrence(Function):
    """What the loops share: the activations, the padding mask, and recurrent dropout (one mask on
    h_{t-1} for every step of the batch, drawn at each forward, as Keras's cells do)."""

    states = 1  # how many initial states follow the input (the LSTM's two: h and c)

    def __init__(self, activation="tanh", recurrent_activation="sigmoid", recurrent_dropout=0.0, seed=None):
        self.act = cell_activation(activation, "activation")
        self.gate = cell_activation(recurrent_activation, "recurrent_activation")
        self.recurrent_dropout, self.seed = recurrent_dropout, seed

    def _wanted(self, *positions):
        """Whether any of these inputs takes a gradient. Unknown (a loop called outside a graph or plan,
        needs_grad unset): they do."""
        return not self.needs_grad or any(self.needs_grad[i] for i in positions)

    def _initial_wanted(self):
        """Whether the initial states take a gradient. Keras's zero states do not, and then a loop's
        backward stops after step 0's cell: its product for dh would reach only h_0."""
        return self._wanted(*range(1, 1 + self.states))

    def _start(self, h0, mask):
        self.mask, self.drop = mask, None
        if self.recurrent_dropout:
            rate = self.recurrent_dropout
            keep = generator(self.seed).random(h0.shape, dtype=np.float32) >= rate
            self.drop = array_module(h0).asarray(keep).astype(h0.dtype) * h0.dtype.type(1 / (1 - rate))

    def _dropped(self, h, rows=slice(None)):
        """h with recurrent dropout; `rows`: the batch's rows h holds (all, or a thread's part)."""
        return h if self.drop is None else h * self.drop[rows]

    def _keep(self, t, new, old):
        """The new state where step t is real, the old one where it is padding."""
        return new if self.mask is None else array_module(new).where(self.mask[:, t, None], new, old)

    def _split(self, t, d, rows=slice(None)):
        """A state's gradient at step t: the part that reaches the step's computation, and the part
        that passes a padded step by, straight to the previous state."""
        if self.mask is None:
            return d, 0
        real = self.mask[rows, t, None]
        return d * real, d * ~real

    def _with_mask_grad(self, *grads):
        return grads + ((None,) if self.mask is not None else ())


def _weight_grad(inputs, grads):
    """Σ_t inputs_tᵀ·grads_t as one product, (units, k)."""
    return inputs.reshape(-1, inputs.shape[-1]).T @ grads.reshape(-1, grads.shape[-1])


class SimpleRNNLoop(_Recurrence):
    """h_t = act(x_t·W + b + h_{t-1}·U); the output is every h_t (steps, batch, units)."""

    def forward(self, xw, h0, U, mask=None):
        self._start(h0, mask)
        self.h0, self.U, self.acts = h0, U, []
        hs, h = array_module(xw).empty_like(xw), h0
        for t in range(len(xw)):
            act = self.act()
            h = self._keep(t, act.forward(xw[t] + self._dropped(h) @ U), h)
            hs[t] = h
            self.acts.append(act)
        self.hs = hs
        return hs

    def backward(self, gy):
        gxw, dh, initial = array_module(gy).empty_like(gy), 0, self._initial_wanted()
        for t in reversed(range(len(gy))):
            d_step, dh = self._split(t, dh + gy[t])
            gxw[t] = self.acts[t].backward(d_step)
            if t == 0 and not initial:
                dh = None
                break
            dh = dh + self._dropped(gxw[t] @ self.U.T)
        return self._with_mask_grad(gxw, dh, _weight_grad(self._previous(), gxw))

    def _previous(self):
        """h_{t-1} for every step, as the products saw it (dropped): (steps, batch, units)."""
        previous = array_module(self.h0).concatenate([self.h0[None], self.hs[:-1]])
        return self._dropped(previous)


class LSTMLoop(_Recurrence):
    """The LSTM cell over a sequence. With z = x_t·W + h_{t-1}·U + b cut in four (Keras's order i, f, c, o):
        i, f, o = σ(z_i), σ(z_f), σ(z_o)      the input, forget and output gates
        g = act(z_c)                           the candidate memory
        c_t = f·c_{t-1} + i·g                  forget some memory, write some
        h_t = o·act(c_t)                       the output reads the memory
    Unlike the other loops, the LSTM takes x itself (steps, batch, features), not its projection: each
    step computes z as one product, [h_{t-1}, x_t, 1]·[U; W; b], whose input is in cache, instead of
    adding a (steps, batch, 4·units) projection made before the loop, written to memory and read back at
    each step (benchmark part 7's training step is faster this way). The gradient of U, W and b is one
    product too, Σ_t [h_{t-1}, x_t, 1]ᵀ·dz_t (one per part where the batch is cut, see below; the column of
    ones is the bias trick, as in convolution.py's im2col).
    The output holds every state, the initial ones first: (2, steps + 1, batch, units), h's then c's; the
    layer slices what it returns. Each step reads its states from that array and writes the next ones
    into it; without recurrent dropout, h_t goes straight into the next step's [h_t, x_{t+1}, 1] row
    instead, and into the output in one copy after the loop (none where only the last is returned). With
    sequences=False the output is the last two states only, (2, batch, units): a layer that returns no
    sequence then passes back no gradient of zeros for every step (nor adds them up).
    Where the compiled cell runs, a large batch is cut in parts, each taken through all the steps, forward
    and back, on a thread of its own (threads.py): the rows of a batch never meet in the loop. A part's
    [h_{t-1}, x_t, 1] rows and gradients of z are arrays of their own, so the part makes its share of the
    gradient products too, and the parts' kernel gradients are added at the end.
    σ is GateSigmoid's, (1 + tanh(z/2))/2. It runs once over all four blocks, the c block's result unused: one
    call instead of three; the compiled cell halves the kernel's gate columns instead, so that the product
    gives z/2 there and one tanh over z serves all four blocks. What a compiled step keeps for its backward
    is that tanh itself, σ being taken from it where it is used: one array written instead of two."""

    states = 2

    def __init__(self, *args, sequences=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.sequences = sequences

    def forward(self, x, h0, c0, W, U, b, mask=None):
        self._start(h0, mask)
        xp, features, n = array_module(x), x.shape[2], h0.shape[1]
        self.x, self.W, self.U = x, W, U
        self.kernel = kernel = self.scratch("kernel", (n + features + 1, 4 * n), xp.result_type(U, W, b), xp)
        # the states' dtype: x·W's, as a projection's would be (integer ids give the kernel's)
        self.dtype = dtype = xp.result_type(x, kernel) if x.dtype.kind == "f" else kernel.dtype
        self.uses_kernels = self._has_kernels() and compiled.applies(kernel) and kernel.dtype == dtype
        # [h_{t-1}, x_t, 1] times the kernel is z. With the compiled cell (one dtype throughout, as NumPy rounds),
        # the gates' columns are halved (exactly: halving is), so that the product gives z/2 there, whose σ is
        # (1 + tanh(z/2))/2 (GateSigmoid): one tanh over z then serves all four blocks
        if self.uses_kernels:
            halves = self.scratch("halves", (4 * n,), dtype, xp)
            halves[:], halves[2 * n:3 * n] = 0.5, 1
            for rows, weight in ((slice(n), U), (slice(n, -1), W), (slice(-1, None), b)):
                xp.multiply(weight, halves, out=kernel[rows])
        else:
            xp.concatenate([U, W, b[None]], out=kernel)
        # the compiled cell releases Python's lock, so each part of the batch can run on a core of its own
        self.parts = threads.batch_parts(x.shape[1]) if self.uses_kernels else [slice(None)]
        # the states are returned when the sequence is; else the last two are copied out
        shape = (2, x.shape[0] + 1, x.shape[1], n)
        out = xp.empty(shape, dtype) if self.sequences else self.scratch("states", shape, dtype, xp)
        out[0, 0], out[1, 0] = h0, c0
        self.all_states = out
        self.runs = threads.each(self._forward_rows, range(len(self.parts)), self.parts)
        return out if self.sequences else out[:, -1].copy()

    def _has_kernels(self):
        """Whether the compiled cell is written for these activations (σ and tanh)."""
        return self.gate is GateSigmoid and self.act is F.Tanh

    def cuts_batch(self):
        """Whether the loop cuts a large enough batch (threads.batch_parts) among threads: where the compiled
        cell runs, on NumPy float32 or float64."""
        return self._has_kernels() and compiled.enabled() and threads.available()

    def _forward_rows(self, part, rows):
        """The loop through time for these rows of the batch (all, or the thread's part number `part`): writes
        their states, returns their [h_{t-1}, x_t, 1] rows (steps, rows, n + features + 1) and what each step's
        backward needs. A part's rows are an array of their own, so that its gradient products read them whole
        (its work arrays are kept by part number: a batch cut otherwise reuses them)."""
        steps, n, x = [], self.U.shape[0], self.x[:, rows]
        hx = self.scratch(f"hx{part}", x.shape[:2] + self.kernel.shape[:1], self.dtype, array_module(x))
        hx[:, :, n:-1], hx[:, :, -1] = x, 1
        hs, cs = list(self.all_states[0, :, rows]), list(self.all_states[1, :, rows])  # each step's views, made
        work = self._compiled_work(part, x.shape[:2], n) if self.uses_kernels else None  # at once
        # the compiled cell takes each step's product in one scratch array per part, which stays in cache;
        # the NumPy cell's activations may keep views of theirs, so each step has its own
        z = None if work is None else self.scratch(f"z{part}", x.shape[1:2] + self.kernel.shape[1:],
                                                   self.dtype, np)
        if self.drop is None and len(hx):  # each h_t is written where the next step's product reads it
            hx[0, :, :n], hs[1:-1] = hs[0], [x_t[:, :n] for x_t in hx[1:]]
        for t, x_t in enumerate(hx):
            h, c, h_new, c_new = hs[t], cs[t], hs[t + 1], cs[t + 1]
            if self.drop is not None:
                x_t[:, :n] = self._dropped(h, rows)
            z = x_t @ self.kernel if work is None else np.matmul(x_t, self.kernel, out=z)
            steps.append(self._cell(z, c, h_new, c_new) if work is None else
                         self._compiled_cell(z, c, h_new, c_new, *work[t]))
            if self.mask is not None:  # a padded step carries both states over
                padded = ~self.mask[rows, t, None]
                array_module(h).copyto(h_new, h, where=padded)
                array_module(c).copyto(c_new, c, where=padded)
        if self.drop is None and self.sequences:  # the states returned: h_1 ... h_{steps-1} in one copy
            self.all_states[0, 1:-1, rows] = hx[1:, :, :n]
        return hx, steps

    def _compiled_work(self, part, shape, n):
        """The compiled cell's arrays for every step of a part's rows: tanh over z (see _compiled_cell) and
        act(c_t), as a list of each step's two."""
        return list(zip(*(self.scratch(f"{name}{part}", shape + (width,), self.dtype, np)
                          for name, width in (("tanh", 4 * n), ("memory", n)))))

    def _cell(self, z, c, h_new, c_new):
        """One step of the cell from z: writes h_t and c_t, returns what its backward needs."""
        n = c.shape[1]
        gates, candidate, memory_act = self.gate(), self.act(), self.act()
        sig = gates.forward(z)
        i, f, o = sig[:, :n], sig[:, n:2 * n], sig[:, 3 * n:]
        g = candidate.forward(z[:, 2 * n:3 * n])
        c_t = f * c + i * g
        memory = memory_act.forward(c_t)
        c_new[...] = c_t
        array_module(z).multiply(o, memory, out=h_new)
        return gates, candidate, memory_act, i, f, g, o, memory, c

    def backward(self, gy):
        xp, n = array_module(gy), self.U.shape[0]
        self.U_T = self.scratch("U_T", self.U.shape[::-1], self.U.dtype, xp)  # BLAS multiplies by it faster
        if compiled.applies(self.U):  # than by the transposed view
            _transpose(self.U, self.U_T)
        else:
            self.U_T[...] = self.U.T
        ends = threads.each(functools.partial(self._backward_rows, gy), range(len(self.parts)), self.parts,
                            self.runs)
        dh, dc, gx, g_kernel = ends[0]
        if len(ends) > 1:  # the parts' gradients side by side; their kernel gradients added up
            dh, dc, gx = (None if d[0] is None else xp.concatenate(d, axis=axis)
                          for d, axis in zip(zip(*ends), (0, 0, 1)))
            for part in ends[1:]:
                g_kernel += part[3]
        return self._with_mask_grad(gx, dh, dc, g_kernel[n:-1], g_kernel[:n], g_kernel[-1])

    def _backward_rows(self, gy, part, rows, run):
        """Back through time for these rows of the batch, then their part of the gradient products: returns
        the gradients of their initial h and c (None when those take none), of their x (None when it takes
        none) and their sum Σ_t [h_{t-1}, x_t, 1]ᵀ·gz_t, the gradient of [U; W; b]."""
        hx, steps = run
        gz = self.scratch(f"gz{part}", hx.shape[:2] + self.kernel.shape[1:], gy.dtype, array_module(gy))
        dh, dc = self._through_time(gy, rows, steps, gz)
        gz = gz.reshape(-1, gz.shape[-1])
        gx = (gz @ self.W.T).reshape(hx.shape[:2] + self.W.shape[:1]) if self._wanted(0) else None
        return dh, dc, gx, _weight_grad(hx, gz)

    def _through_time(self, gy, rows, steps, gz_steps):
        """The loop back through time for these rows: writes each step's gradient of z into gz_steps, returns
        the gradients of the initial h and c (None when those take none)."""
        last = gy[:, -1] if self.sequences else gy
        dh, dc = last[:, rows].copy()  # the gradients of h_t and c_t, t = steps
        cell_backward = self._compiled_cell_backward if self.uses_kernels else self._cell_backward
        initial = self._initial_wanted()
        for t in reversed(range(len(steps))):
            dh_step, dh_carry = self._split(t, dh, rows)
            dc_step, dc_carry = self._split(t, dc, rows)
            gz = gz_steps[t]
            dc = cell_backward(steps[t], dh_step, dc_step, gz)
            if t == 0 and not initial:
                return None, None
            dh = self._dropped(gz @ self.U_T, rows)
            if self.mask is not None:
                dh += dh_carry
                dc += dc_carry
            if self.sequences:
                dh += gy[0, t, rows]
                dc += gy[1, t, rows]
        return dh, dc

    @staticmethod
    def _cell_backward(step, dh, dc, gz):
        """One step of the cell backward: from the gradients of h_t and c_t, the gradient of z (into gz);
        returns the part that reaches c_{t-1}."""
        gates, candidate, memory_act, i, f, g, o, memory, c_prev = step
        n = g.shape[1]
        dc = dc + memory_act.backward(dh * o)
        # σ's gradient, its c block 0 (σ's result there is unused), then σ's backward over all four blocks
        gz[:, :n], gz[:, n:2 * n], gz[:, 2 * n:3 * n], gz[:, 3 * n:] = dc * g, dc * c_prev, 0, dh * memory
        gz[...] = gates.backward(gz)
        gz[:, 2 * n:3 * n] = candidate.backward(dc * i)
        return dc * f

    @staticmethod
    def _compiled_cell(z, c, h_new, c_new, tz, memory):
        """_cell with σ and tanh, the same numbers: NumPy's tanh (vectorized only there) from z into tz, the
        step's own array, which is what the step keeps for its backward. z's gates' blocks hold z/2 (forward
        halved their kernel columns), so that tz holds GateSigmoid's tanh(z/2) there, σ being tz·0.5 + 0.5, and
        the candidate's tanh(z_c); compiled kernels for the passes between. Writes tz, memory (act(c_t)) and
        the states."""
        np.tanh(z, out=tz)
        _lstm_cell_forward(tz, c, c_new)
        np.tanh(c_new, out=memory)
        _lstm_output(tz, memory, h_new)
        return tz, memory, c

    @staticmethod
    def _compiled_cell_backward(step, dh, dc, gz):
        """_cell_backward by the compiled kernel below (same numbers). dc is this step's own array: the
        kernel updates it in place."""
        _lstm_cell_backward(*step, dh, dc, gz)
        return dc


@compiled.kernel
def _transpose(a, out):
    """out = aᵀ, a copy, tile by tile: NumPy copies a transposed view along whole columns of `a`, each
    number from another cache line, several times slower for the LSTM's U (`benchmarks/kernels.py`)."""
    rows, columns = a.shape
    for i0 in range(0, rows, 16):
        for j0 in range(0, columns, 16):
            for j in range(j0, min(j0 + 16, columns)):
                for i in range(i0, min(i0 + 16, rows)):
                    out[j, i] = a[i, j]


@compiled.kernel
def _lstm_cell_forward(tz, c_prev, c_new):
    """c_t = f·c_{t-1} + i·g, as LSTMLoop._cell computes it: tz holds tanh over z, which is tanh(z/2) on the
    gates' blocks i, f, o, whose σ is tanh(z/2)·0.5 + 0.5 (GateSigmoid's, rounded as it rounds), and
    g = tanh(z_c) on the candidate's."""
    n = c_new.shape[1]
    for b in range(c_new.shape[0]):
        for j in range(n):
            c_new[b, j] = (tz[b, n + j] * HALF + HALF) * c_prev[b, j] + (tz[b, j] * HALF + HALF) * tz[b, 2 * n + j]


@compiled.kernel
def _lstm_output(tz, memory, h):
    """h_t = o·act(c_t), o = σ(z_o) from tz as in _lstm_cell_forward. h may be a strided view: the next step's
    [h_t, x_{t+1}, 1] rows."""
    n = memory.shape[1]
    for b in range(memory.shape[0]):
        for j in range(n):
            h[b, j] = (tz[b, 3 * n + j] * HALF + HALF) * memory[b, j]


@compiled.kernel
def _lstm_cell_backward(tz, memory, c_prev, dh, dc, gz):
    """LSTMLoop._cell_backward with σ and tanh, the same operations in the same order (so the same
    numbers), as one pass per result instead of a dozen NumPy passes; each loop writes one array, which
    lets the compiler vectorize it. tz is what _lstm_cell_forward read: σ of a gate is tz·0.5 + 0.5."""
    n = memory.shape[1]
    for b in range(memory.shape[0]):
        for j in range(n):  # dc += tanh'(c_t)·(dh·o), tanh' = 1 - memory²
            o = tz[b, 3 * n + j] * HALF + HALF
            dc[b, j] = dc[b, j] + dh[b, j] * o * (ONE - memory[b, j] * memory[b, j])
        for j in range(n):  # σ' = σ·(1 - σ) on the gates' blocks, tanh' on the candidate's
            i = tz[b, j] * HALF + HALF
            gz[b, j] = dc[b, j] * tz[b, 2 * n + j] * i * (ONE - i)
        for j in range(n):
            f = tz[b, n + j] * HALF + HALF
            gz[b, n + j] = dc[b, j] * c_prev[b, j] * f * (ONE - f)
        for j in range(n):
            g = tz[b, 2 * n + j]
            gz[b, 2 * n + j] = dc[b, j] * (tz[b, j] * HALF + HALF) * (ONE - g * g)
        for j in range(n):
            o = tz[b, 3 * n + j] * HALF + HALF
            gz[b, 3 * n + j] = dh[b, j] * memory[b, j] * o * (ONE - o)
        for j in range(n):  # what reaches c_{t-1}
            dc[b, j] = dc[b, j] * (tz[b, n + j] * HALF + HALF)


class GRULoop(_Recurrence):
    """The GRU cell over a sequence. With x_t·W + b cut in three (Keras's order z, r, h) and the
    recurrent part u = h_{t-1}·U + b_rec cut the same way:
        z = σ(x_z + u_z)                         the update gate: how much of the old state to keep
        r = σ(x_r + u_r)                         the reset gate
        ĥ = act(x_h + r·u_h)                     the candidate (reset_after, Keras's default), or
        ĥ = act(x_h + (r·h_{t-1})·U_h)           (reset_after=False: the reset gate before the product)
        h_t = z·h_{t-1} + (1 - z)·ĥ
    The output is every h_t (steps, batch, units)."""

    def __init__(self, reset_after=True, **kwargs):
        super().__init__(**kwargs)
        self.reset_after = reset_after

    def forward(self, xw, h0, U, recurrent_bias, mask=None):
        self._start(h0, mask)
        n, self.h0, self.U, self.steps = h0.shape[1], h0, U, []
        hs, h = array_module(xw).empty_like(xw[:, :, :n]), h0
        for t in range(len(xw)):
            x, hd = xw[t], self._dropped(h)
            u = hd @ U[:, :2 * n] + recurrent_bias[:2 * n]
            fns = (self.gate(), self.gate(), self.act())  # z, r, candidate
            z, r = fns[0].forward(x[:, :n] + u[:, :n]), fns[1].forward(x[:, n:2 * n] + u[:, n:])
            u_h = (hd if self.reset_after else r * hd) @ U[:, 2 * n:] + recurrent_bias[2 * n:]
            candidate = fns[2].forward(x[:, 2 * n:] + (r * u_h if self.reset_after else u_h))
            self.steps.append((fns, z, r, u_h, candidate, h, hd))
            h = self._keep(t, z * h + (1 - z) * candidate, h)
            hs[t] = h
        return hs

    def backward(self, gy):
        xp, n = array_module(gy), gy.shape[2]
        gxw, gu, dh = xp.empty(gy.shape[:2] + (3 * n,), gy.dtype), xp.empty(gy.shape[:2] + (3 * n,), gy.dtype), 0
        initial = self._initial_wanted()
        for t in reversed(range(len(gy))):
            (gate_z, gate_r, cand), z, r, u_h, candidate, h_prev, hd = self.steps[t]
            d_step, dh = self._split(t, dh + gy[t])
            da_h = cand.backward(d_step * (1 - z))
            gxw[t, :, :n] = gate_z.backward(d_step * (h_prev - candidate))
            if self.reset_after:  # ĥ's pre-activation is x_h + r·u_h
                gxw[t, :, n:2 * n] = gate_r.backward(da_h * u_h)
                gu[t, :, 2 * n:] = da_h * r
            else:  # ĥ's pre-activation is x_h + (r·hd)·U_h
                d_rh = da_h @ self.U[:, 2 * n:].T
                gxw[t, :, n:2 * n] = gate_r.backward(d_rh * hd)
                gu[t, :, 2 * n:] = da_h
            gxw[t, :, 2 * n:] = da_h
            gu[t, :, :2 * n] = gxw[t, :, :2 * n]  # z and r see x_t·W and h_{t-1}·U alike
            if t == 0 and not initial:
                dh = None
                break
            d_hd = gu[t] @ self.U.T if self.reset_after else gu[t, :, :2 * n] @ self.U[:, :2 * n].T + d_rh * r
            dh = dh + d_step * z + self._dropped(d_hd)
        return self._with_mask_grad(gxw, dh, self._kernel_grad(gu), gu.sum(axis=(0, 1)))

    def _kernel_grad(self, gu):
        hd = xp_stack([s[6] for s in self.steps])
        if self.reset_after:
            return _weight_grad(hd, gu)
        rhd = xp_stack([s[2] * s[6] for s in self.steps])
        n = hd.shape[-1]
        return array_module(gu).concatenate([_weight_grad(hd, gu[:, :, :2 * n]), _weight_grad(rhd, gu[:, :, 2 * n:])],
                                            axis=1)


def xp_stack(arrays):
    """Per-step (batch, units) arrays as one (steps, batch, units) array."""
    return array_module(arrays[0]).stack(arrays)
