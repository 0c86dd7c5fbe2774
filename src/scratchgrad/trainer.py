"""The trainer: compile / fit / evaluate / predict / train_on_batch, for every model class.

A training step is the model's forward and the loss, run eagerly the first time for each input
signature inside `autograd.record()` and kept as a `StepPlan` (plan.py); later steps of the same
signature replay the plan on raw arrays. The plan's backward writes the gradients into the optimizer's
flat gradient buffer and the optimizer updates all weights in one fused pass. `compile(run_eagerly=True)`
trains through the autograd graph instead (Tensor, backward()), which gives the same numbers; a step
whose code read tensor values into Python (data-dependent control flow) is never replayed, and
`compile(jit_compile=False)` replays none.

A model's inputs and outputs may be single arrays or lists/dicts of them (the functional API); the
loss, loss_weights and metrics may then be lists or dicts keyed by output name, and each output's loss
and metrics are logged as "<output>_loss", "<output>_<metric>". Overriding `train_step(data)` /
`test_step(data)` in a subclass customizes fit / evaluate, as in Keras.

A model class provides: `__call__(x, training)`, `call_logits(x, training)` (the forward up to the last
layer's activation, for a fused loss), `output_layer`, `build`, `built`, `input_shape`, `output_shape`,
`dtype`, `weights`, `trainable_weights`, `losses`, `train(mode)` (None: no mode) and `_mode`, the mode
train() set, and `_sublayers()`.
"""
import functools
import itertools
import math
import operator
import os
import warnings
from collections import OrderedDict

import numpy as np

from . import activations, threads, tree
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers
from . import validation as data
from .autograd import no_grad, record
from .backend import array_module, keep_freed_memory, max_epochs, max_steps_per_epoch
from .callbacks import CallbackList, History, LambdaCallback, ProgbarLogger, TerminateOnNaN
from .functional import SoftmaxCrossEntropy
from .plan import StepPlan
from .random import get_rng
from .tensor import Tensor

_MAX_PLANS = 8  # input signatures kept per model: the full batch, the last short one, and a few more
_SHUFFLED_COPY_BYTES = 64 << 20  # training data up to this size is shuffled as a whole, each epoch (_run_epoch)


def _is_shape(value):
    return isinstance(value, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _restores_modes(method):
    """fit, evaluate and predict set the training mode while they run (for calls that pass no `training`)
    and put back each layer's mode as they found it, finished or interrupted: after them a direct call
    gets its own default, as in Keras (an augmentation augments, Dropout does not drop), or what
    train()/eval() had set. They (and train_on_batch, test_on_batch) are each a `threads.session`: once a
    layer has cut a batch among threads, BLAS stays on one thread to the end of the call."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        found = [(layer, layer._mode) for layer in _layers_within(self)]
        try:
            with threads.session():
                return method(self, *args, **kwargs)
        finally:
            for layer, mode in found:
                layer._mode = mode

    return run


def _layers_within(layer):
    yield layer
    for sublayer in layer._sublayers():
        yield from _layers_within(sublayer)


class Trainer:
    optimizer = loss = None
    run_eagerly = False
    jit_compile = "auto"
    _plans = None
    _takes_dicts = True  # a subclassed model's call() may take x as a dict (Sequential's may not, as in Keras)

    # ---- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, the loss(es) and the metrics (names or objects, as Keras takes them).

        `run_eagerly=True` trains through the autograd graph at every step; `jit_compile=False` never
        replays a recorded step plan (for a `call` whose control flow depends on the data)."""
        self.optimizer = optimizers.get(optimizer)
        # no loss is allowed: a model may train on what its layers add_loss() (an autoencoder, a VAE)
        self.loss = tree.map_structure(lambda x: None if x is None else losses_module.resolve(x), loss)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._loss_weights, self._metric_ids = loss_weights, metrics
        self._weighted_metric_ids = weighted_metrics
        self.compiled_metrics = []
        self._outputs_ready = False
        self.run_eagerly, self.jit_compile = bool(run_eagerly), jit_compile
        self.forget_plans()

    def forget_plans(self):
        """Drop the recorded step plans (the model's structure or compile settings changed)."""
        self._plans = OrderedDict()

    def _check_compiled(self):
        if self.optimizer is None:
            raise RuntimeError("the model must be compiled before training or evaluating: call model.compile(...)")

    def _overrides(self, method):
        return getattr(type(self), method) is not getattr(Trainer, method)

    # ---- outputs: names, losses, metrics -----------------------------------------------------
    def _output_names(self):
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        count = len(tree.flatten(self.output_shape, is_leaf=_is_shape)) if self.output_shape is not None else 1
        return ["output"] if count == 1 else [f"output_{i + 1}" for i in range(count)]

    def _per_output(self, setting, names, what, default=None):
        """A compile setting given once, as a list (one per output) or as a dict keyed by output name."""
        if isinstance(setting, dict) and len(names) > 1 or isinstance(setting, dict) and set(setting) <= set(names):
            unknown = set(setting) - set(names)
            if unknown:
                raise ValueError(f"{what} names outputs {sorted(unknown)}; the model's outputs are {names}")
            return [setting.get(name, default) for name in names]
        if isinstance(setting, (list, tuple)) and len(names) > 1:
            if len(setting) != len(names):
                raise ValueError(f"{what} has {len(setting)} entries for {len(names)} outputs {names}")
            return list(setting)
        return [setting] * len(names) if setting is not None else [default] * len(names)

    def _prepare_outputs(self, ys):
        """Per-output losses, loss weights and metrics, once the outputs and targets (None where an output
        has none) are known."""
        names = self._output_names()
        self._names = names
        self._output_losses = self._per_output(self.loss, names, "loss")
        self._targeted = [i for i, (loss, y) in enumerate(zip(self._output_losses, ys)) if loss is not None]
        self._target_position = {i: k for k, i in enumerate(self._targeted)}
        self._weights_per_output = [1.0 if w is None else float(w)
                                    for w in self._per_output(self._loss_weights, names, "loss_weights", 1.0)]
        shapes = tree.flatten(self.output_shape, is_leaf=_is_shape)
        self.compiled_metrics = []
        plain = self._make_metrics(self._metric_ids, names, shapes, ys)
        taken = {metric.name for _, metric in plain}
        weighted = self._make_metrics(self._weighted_metric_ids, names, shapes, ys, taken)
        self.compiled_metrics = plain + weighted
        self._outputs_ready = True

    def _make_metrics(self, metric_ids, names, shapes, ys, taken=None):
        """(output index, metric) for a compile() metrics setting: a list for every output, a list of
        lists or a dict by output name. With `taken` (the unweighted metrics' names), these are the
        weighted_metrics: a name already taken becomes "weighted_<name>" (after the output's name)."""
        if isinstance(metric_ids, (list, tuple)) and len(names) > 1 and metric_ids and \
                all(isinstance(m, (list, tuple)) or m is None for m in metric_ids):
            per_output = self._per_output(list(metric_ids), names, "metrics")
        elif isinstance(metric_ids, dict):
            per_output = self._per_output(metric_ids, names, "metrics")
        else:
            per_output = [metric_ids] * len(names)
        made = []
        for i, (name, ids) in enumerate(zip(names, per_output)):
            ids = [] if ids is None or ys[i] is None else ids if isinstance(ids, (list, tuple)) else [ids]
            loss_name = getattr(self._output_losses[i], "name", "")
            for identifier in ids:
                metric = metrics_module.get(identifier, loss_name, shapes[i], ys[i].shape)
                base = metric.__dict__.setdefault("base_name", metric.name)  # compiling twice: no double prefix
                prefix = f"{name}_" if len(names) > 1 else ""
                if taken is not None:
                    metric.weighted = True
                    base = f"weighted_{base}" if prefix + base in taken else base
                metric.name = prefix + base
                made.append((i, metric))
        return made

    def _fused_activation(self):
        """The output layer's activation when the loss takes its place (Softmax-with-Loss), else None."""
        if len(self._output_losses) != 1 or self._output_losses[0] is None or _penalizes_its_output(self):
            return None  # an activity regularizer takes the activated output, which the fused loss never makes
        layer = self.output_layer
        activation = None if layer is None else layer.output_activation
        return activation if self._output_losses[0].fuses(activation) else None

    @property
    def metrics(self):
        """The loss tracker ("loss") and the compiled metrics (after the first fit/evaluate), as Keras lists
        them for a custom train_step."""
        tracker = getattr(self, "_loss_tracker", None)
        return ([tracker] if tracker is not None else []) + [metric for _, metric in self.compiled_metrics]

    @property
    def metrics_names(self):
        return ["loss"] + [f"{name}_loss" for name in self._output_loss_names()] + self._metric_names()

    def _output_loss_names(self):
        """The outputs whose own loss is logged (<name>_loss): those with a loss, when several have one."""
        targeted = getattr(self, "_targeted", [])
        return [self._names[i] for i in targeted] if len(targeted) > 1 else []

    def _metric_names(self):
        return [metric.name for _, metric in self.compiled_metrics]

    # ---- the loss ----------------------------------------------------------------------------
    def _model_input(self, xs):
        """The arrays in the form call() takes: one, a list, or the dict x came as (a subclassed model's
        call(inputs) reading inputs["a"]; nested dicts too, keys in the user's order)."""
        structure = getattr(self, "_input_structure", None)
        return tree.pack_like(structure, xs) if structure is not None else xs[0] if len(xs) == 1 else list(xs)

    def _build_from(self, xs):
        if not self.built:
            self.build(self._model_input([(None,) + a.shape[1:] for a in xs]))

    def _loss_graph(self, xs, ys, weights=None, training=True):
        """Forward and loss on Tensors: (total loss, the outputs (logits when fused), per-output losses)."""
        x = self._model_input(xs)
        out = self.call_logits(x, training) if self._fused else self(x, training=training)
        outs = tree.flatten(out)
        parts = [self._output_losses[i].value(outs[i], y, weights, logits=self._fused is not None)
                 for i, y in zip(self._targeted, ys)]
        total = None
        for i, part in zip(self._targeted, parts):
            w = self._weights_per_output[i]
            scaled = part if w == 1.0 else part * w
            total = scaled if total is None else total + scaled
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("nothing to minimize: compile() got no loss and the model adds none (add_loss)")
        return total, outs, parts if len(parts) > 1 else []  # per-output losses are logged when several

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of `y_pred` against `y` plus the model's own losses (Keras's compute_loss)."""
        preds, targets = tree.flatten(y_pred), self._targets(y)  # y routed to outputs as fit routes it
        total = None
        for loss, weight, p, t in zip(self._output_losses, self._weights_per_output, preds, targets):
            if loss is not None:
                part = loss.value(p, t, sample_weight) * weight
                total = part if total is None else total + part
        for extra in self.losses:
            total = extra if total is None else total + extra
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with this batch and return {name: result}."""
        preds, targets = tree.flatten(y_pred), self._targets(y)  # y routed to outputs as fit routes it
        for i, metric in self.compiled_metrics:
            weights = sample_weight if getattr(metric, "weighted", False) else None
            metric.update_state(targets[i], preds[i], sample_weight=weights)
        return {metric.name: metric.result() for _, metric in self.compiled_metrics}

    # ---- the training step -------------------------------------------------------------------
    def _train_batch(self, xs, ys, weights):
        """The batch's loss, predictions for the metrics, per-output losses and, where the loss op counted them,
        the accuracy's hits (else None)."""
        arrays = list(xs) + self._loss_targets(ys) + ([] if weights is None else [weights.astype(self.dtype)])
        params = self._step_params
        if self.run_eagerly:
            loss, outs, parts, hits = *self._eager_step(arrays, params), None
        else:
            loss, outs, parts, hits = self._planned_step(arrays, params)
        return float(loss), self._predictions(outs), [float(p) for p in parts], hits

    def _loss_targets(self, ys):
        """The targets the losses read: none when no output has a loss (ys then holds y for a train_step)."""
        return list(ys) if self._targeted else []

    def _split(self, tensors):
        nx, ny = self._n_inputs, len(self._targeted)
        return tensors[:nx], tensors[nx:nx + ny], tensors[nx + ny] if len(tensors) > nx + ny else None

    def _eager_step(self, arrays, params):
        """The textbook path: build the graph, backward(), then apply each weight's .grad."""
        self.optimizer.zero_grad(self.weights)  # this step's gradients only, whatever was left before
        loss, outs, parts = self._loss_graph(*self._split([Tensor._from_op(a, None) for a in arrays]))
        if loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            self.optimizer.scale_loss(loss).backward()
        grads = [p.grad if p.grad is not None else array_module(p.data).zeros_like(p.data) for p in params]
        self.optimizer.zero_grad(params)
        self.optimizer.apply(grads, params)
        return loss.data, [o.data for o in outs], [p.data for p in parts]

    def _planned_step(self, arrays, params):
        key = (*[(a.shape, a.dtype) for a in arrays], self._fused, self._params_key, self.optimizer.loss_scale_factor)
        plan = self._plans.get(key)
        if plan is None:
            plan, values = self._record_step(arrays, params)
            if self.jit_compile is not False and not plan.dynamic:
                self._plans[key] = plan
                if len(self._plans) > _MAX_PLANS:
                    self._plans.popitem(last=False)  # the least recently used
        else:
            self._plans.move_to_end(key)
            values = plan.forward(arrays)
        if params:
            params = plan.trainable  # the same list object every step: the optimizer recognizes it at once
            buffers = self.optimizer.gradient_buffers(params)
            plan.backward(buffers)
            self.optimizer.apply(buffers, params)
        n, counter = self._n_outputs, plan.hit_counter  # the counter is an op of this plan: it just ran
        return values[-1], values[1:1 + n], values[1 + n:-1], None if counter is None else counter.hits

    def _record_step(self, arrays, params):
        """Run one step eagerly, listing its Function calls, and make it a plan. Its first output is the
        loss backpropagated (scaled by the optimizer's loss_scale_factor), its last the loss logged."""
        inputs = [Tensor._from_op(a, None) for a in arrays]
        with record() as recording:
            loss, outs, parts = self._loss_graph(*self._split(inputs))
            scaled = self.optimizer.scale_loss(loss)
        outputs = [scaled, *outs, *parts, loss]
        counter = self._hit_counter(recording, inputs, outs)
        plan = StepPlan(recording, inputs, outputs, self.weights, params)
        plan.hit_counter = counter
        return plan, [t.data for t in outputs]

    def _hit_counter(self, recording, inputs, outs):
        """The op that counts the accuracy's hits as it computes the loss (SoftmaxCrossEntropy on the logits and
        the labels as given, its `hits` set at each forward), so that the metric need not pass over the logits
        again; None where there is none, or where the metrics read probabilities (two different logits can
        round to the same probability, and the argmax of the probabilities is then not the logits')."""
        if not self._fused or self._activate_outputs or not self._targeted:
            return None
        logits, labels = outs[0], inputs[self._n_inputs]
        return next((fn for fn, ins, _, _ in recording.calls
                     if type(fn) is SoftmaxCrossEntropy and ins[0] is logits and ins[1] is labels), None)

    def _predictions(self, outs):
        """Probabilities for the metrics (the fused path produced logits; argmax needs none)."""
        if not self._activate_outputs:
            return outs
        with no_grad():
            return [activations.get(self._fused)(Tensor._from_op(outs[0], None)).data]

    def _test_batch(self, xs, ys, weights):
        wrap = lambda a: None if a is None else Tensor._from_op(a, None)  # noqa: E731
        with no_grad():
            loss, outs, parts = self._loss_graph([wrap(a) for a in xs], [wrap(a) for a in self._loss_targets(ys)],
                                                 wrap(None if weights is None else weights.astype(self.dtype)),
                                                 training=False)
        return float(loss.data), self._predictions([o.data for o in outs]), [float(p.data) for p in parts]

    # ---- checking what comes in --------------------------------------------------------------
    def _features(self, x):
        """x as a list of checked arrays, one per model input (a dict may name them by input)."""
        names = getattr(self, "input_names", None)
        expected = tree.flatten(self.input_shape, is_leaf=_is_shape) if self.built and self.input_shape else None
        self._input_structure = x if isinstance(x, dict) and not names and self._takes_dicts else None
        if isinstance(x, dict) and names and set(names) <= set(x):
            leaves = [x[name] for name in names]
        elif isinstance(x, dict) or self._several_inputs(x, expected):
            leaves = tree.flatten(x)
        else:
            leaves = [x]
        if expected is not None and len(expected) != len(leaves):
            raise ValueError(f"the model takes {len(expected)} inputs, got {len(leaves)} arrays in x")
        dtypes = getattr(self, "input_dtypes", None) or [self.dtype] * len(leaves)
        xs = [data.features(leaf, dtypes[i], None if expected is None else expected[i])
              for i, leaf in enumerate(leaves)]
        if len({len(a) for a in xs}) > 1:
            raise ValueError(f"the inputs have different numbers of samples: {[len(a) for a in xs]}")
        return xs

    @staticmethod
    def _several_inputs(x, expected):
        """Whether a list or tuple x holds one array per input (rather than being one array as a list)."""
        if not isinstance(x, (list, tuple)):
            return False
        if expected is not None:
            return len(expected) > 1
        return bool(x) and all(hasattr(item, "shape") for item in x)

    def _targets(self, y):
        """y as one entry per model output (None where an output has no targets)."""
        names = self._output_names()
        if y is None:
            return [None] * len(names)
        if isinstance(y, dict):
            unknown = set(y) - set(names)
            if unknown:
                raise ValueError(f"y names outputs {sorted(unknown)}; the model's outputs are {names}")
            return [y.get(name) for name in names]
        with_loss = [i for i, loss in enumerate(self._per_output(self.loss, names, "loss")) if loss is not None]
        if len(names) > 1 and len(with_loss) == 1 and not isinstance(y, (list, tuple)):
            return [y if i == with_loss[0] else None for i in range(len(names))]  # the one output with a loss
        if len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                raise ValueError(f"the model has {len(names)} outputs {names}: give y as a list or dict of as many")
            return list(y)
        return [y]

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None, step="train_step"):
        """Convert and check x (and y) at the boundary; build the model from x if needed. The targets are
        one array per output with a loss, or y as given where `step` (train_step or test_step) is overridden."""
        self._check_compiled()
        xs = self._features(x)
        self._build_from(xs)
        n = len(xs[0])
        raw = self._targets(y)
        shapes = tree.flatten(self.output_shape, is_leaf=_is_shape)
        if not self._outputs_ready:
            self._prepare_outputs([None if leaf is None else np.asarray(leaf) for leaf in raw])
        missing = [self._names[i] for i in self._targeted if raw[i] is None]
        if missing:
            raise ValueError(f"no targets y for outputs {missing}, which have a loss")
        ys = [data.targets(raw[i], n, self._output_losses[i], shapes[i], self.dtype) for i in self._targeted]
        if class_weight and len(self._targeted) > 1:
            raise ValueError("class_weight is only supported for models with a single output (as in Keras); "
                             "use sample_weight")
        if isinstance(sample_weight, (list, tuple, dict)) and len(self._targeted) > 1:
            raise NotImplementedError("one sample_weight array per output is not supported: give one array, "
                                      "used for every output's loss")
        sparse = bool(ys) and self._output_losses[self._targeted[0]].sparse_targets
        weights = data.sample_weights(sample_weight, class_weight, ys[0] if ys else None, n, sparse)
        if self._overrides(step):
            ys = self._as_given(y, n)
        else:
            self._check_metric_targets()
        self._n_inputs, self._n_outputs = len(xs), len(self._output_names())
        if self._outputs_ready:
            self._fused = self._fused_activation()
            self._activate_outputs = self._fused is not None and any(
                m.needs_probabilities for _, m in self.compiled_metrics)
        # the weights trained by this fit() (as in Keras, a trainable flag changed later counts from the next)
        self._step_params = self.trainable_weights
        self._set_weight_paths()
        self._params_key = tuple(map(id, self._step_params))
        if self._plans is None:
            self.forget_plans()
        return xs, ys, weights

    def _check_metric_targets(self):
        untargeted = sorted({self._names[i] for i, _ in self.compiled_metrics if i not in self._target_position})
        if untargeted:
            raise ValueError(f"metrics on outputs {untargeted}, which have no loss, are not computed here (Keras "
                             f"computes them against y): give each such output a loss, with loss_weights 0 to keep "
                             f"it out of the total, or update the metrics in a custom train_step")

    def _as_given(self, y, n):
        """y as Keras hands it to a custom train_step: in the user's structure (a dict stays a dict, a tuple
        a tuple), each array in its own shape, floats in the model's dtype."""
        if isinstance(y, dict):
            return {key: self._as_given(value, n) for key, value in y.items()}
        if isinstance(y, (list, tuple)) and y and all(getattr(value, "ndim", 0) > 0 for value in y):  # of arrays
            return tree.rebuilt(y, [self._as_given(value, n) for value in y])
        if y is None:
            return None
        y = data.as_samples(y, n, "y")
        return y.astype(self.dtype) if y.dtype.kind == "f" else y

    # ---- optimizer state ---------------------------------------------------------------------
    def get_optimizer_state(self):
        """The optimizer's state, one dict of slots per trainable weight (in the weights' order)."""
        self._set_weight_paths()  # what a MultiOptimizer chooses by
        return self.optimizer.get_state(self.trainable_weights)

    def set_optimizer_state(self, state):
        """Restore `get_optimizer_state()`'s result; shapes are checked against the weights now."""
        self.optimizer.set_state(state)
        self._set_weight_paths()
        self.optimizer.build(self.trainable_weights)

    # ---- fit / evaluate / predict ------------------------------------------------------------
    @_restores_modes
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs of mini-batches; returns a History of per-epoch logs."""
        dataset = x if _is_dataset(x) else None
        if dataset is not None:
            x, y, sample_weight, batch_size, shuffle = *_materialize(dataset, steps_per_epoch), False
        batch_size = data.check_batch_size(batch_size)
        if os.environ.get("SCRATCHGRAD_KEEP_MEMORY") == "1":
            keep_freed_memory()
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        xs, ys, weights = self._prepare(x, y, sample_weight, class_weight)
        n = len(xs[0])
        if validation_split and validation_data is None:
            split = int(n * (1 - validation_split))  # Keras: the last samples, before shuffling
            if split == 0 or split == n:
                raise ValueError(f"validation_split={validation_split} leaves no training or validation samples")
            # sample weights follow their samples; class weights apply to training only, as in Keras
            val_weights = data.sample_weights(sample_weight, None, None, n)
            val_ys = ys if self._overrides("train_step") == self._overrides("test_step") else \
                self._prepare(x, y, step="test_step")[1]  # in the form the other step takes
            validation = _rows((xs, val_ys, val_weights), slice(split, None))
            xs, ys, weights = _rows((xs, ys, weights), slice(None, split))
        elif validation_data is not None:
            validation = self._prepare_validation(validation_data)
        else:
            validation = None

        steps = math.ceil(len(xs[0]) / batch_size)
        if steps_per_epoch is not None:
            if int(steps_per_epoch) != steps_per_epoch or steps_per_epoch < 1:
                raise ValueError(f"steps_per_epoch must be a positive integer, got {steps_per_epoch!r}")
            steps = min(steps, int(steps_per_epoch))  # an epoch of fewer batches, as in Keras
        epochs = _capped(epochs, "epochs", max_epochs())
        steps = _capped(steps, "steps_per_epoch", max_steps_per_epoch())
        history = History()
        verbose = 1 if verbose == "auto" else verbose
        # Keras's order: the progress line first, History last so it records what callbacks added
        cbs = ([ProgbarLogger(verbose)] if verbose else []) + list(callbacks or []) + [history]
        callback_list = CallbackList(cbs, self, {"epochs": epochs, "steps": steps, "verbose": verbose,
                                                 "metrics": self._logged_keys(validation is not None, cbs)})
        self.stop_training = False
        self._warn_on_nan = not any(isinstance(cb, TerminateOnNaN) for cb in cbs)
        callback_list.on_train_begin()
        initial_epoch = self.__dict__.pop("_resume_from", initial_epoch)  # BackupAndRestore found a backup
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if dataset is not None and epoch > initial_epoch:  # a dataset is read again every epoch
                batches = _materialize(dataset, steps_per_epoch, required=False)
                if batches is None:
                    warnings.warn("Your input ran out of data; interrupting training. Make sure that your "
                                  "dataset or generator can generate at least `steps_per_epoch * epochs` "
                                  "batches.", stacklevel=2)
                    break
                xs, ys, weights = self._prepare(*batches[:3], class_weight)
            callback_list.on_epoch_begin(epoch)
            logs = self._run_epoch(xs, ys, weights, batch_size, shuffle, steps, epoch, callback_list)
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val = self._evaluate_arrays(*validation, batch_size=validation_batch_size or batch_size,
                                            callback_list=callback_list, steps=validation_steps)
                logs.update({f"val_{k}": v for k, v in val.items()})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > 0:  # with use_ema the weights become their moving averages, as Keras's fit ends
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callback_list.on_train_end(logs)
        return history

    def _prepare_validation(self, validation_data):
        arrays = self._unpack_validation(validation_data)
        try:
            return self._prepare(*arrays, step="test_step")
        except (ValueError, TypeError) as err:  # "x is empty" alone would blame the training data
            raise type(err)(f"validation_data: {err}") from None

    def _logged_keys(self, validation, callbacks):
        """The keys each epoch's logs will hold (Keras 2's params["metrics"]), for callbacks to check what they
        expect before training; None where fit() cannot know: a custom train_step, or a callback not of
        scratchgrad's own, which may add keys (LambdaCallback included)."""
        if self._overrides("train_step") or any(isinstance(cb, LambdaCallback) or
                                                not type(cb).__module__.startswith("scratchgrad.") for cb in callbacks):
            return None
        names = self.metrics_names + [f"val_{name}" for name in self.metrics_names if validation]
        return names + [key for cb in callbacks for key in getattr(cb, "adds_to_logs", ())]

    @staticmethod
    def _unpack_validation(validation_data):
        if _is_dataset(validation_data):
            return _materialize(validation_data)[:3]
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)")
        return validation_data

    @staticmethod
    def _batches(n, batch_size, shuffle):
        order = get_rng().permutation(n) if shuffle else None
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size] if shuffle else slice(start, start + batch_size)

    def _run_epoch(self, xs, ys, weights, batch_size, shuffle, steps, epoch, callback_list):
        tracker = _Tracker(self)
        self.train(True)
        warned = not self._warn_on_nan
        custom = self._overrides("train_step")
        batch_logs = callback_list.implements("on_train_batch_end")
        if shuffle and sum(getattr(a, "nbytes", 0) for a in tree.flatten((xs, ys, weights))) <= _SHUFFLED_COPY_BYTES:
            # the same order as batch-by-batch shuffling, in one copy: each batch is then a slice, which at
            # batch 1 costs half of what taking its rows does
            xs, ys, weights = _rows((xs, ys, weights), get_rng().permutation(len(xs[0])))
            shuffle = False
        for step, index in enumerate(itertools.islice(self._batches(len(xs[0]), batch_size, shuffle), steps)):
            callback_list.on_train_batch_begin(step)
            xb, yb, wb = _batch(xs, ys, weights, index)
            if custom:
                logs = tracker.custom(self.train_step(self._step_data(xb, yb, wb)))
            else:
                loss, preds, parts, hits = self._train_batch(xb, yb, wb)
                if not math.isfinite(loss) and not warned:
                    warned = True
                    warnings.warn(f"loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                                  f"add callbacks=[TerminateOnNaN()] to stop there", RuntimeWarning, stacklevel=3)
                tracker.update(loss, len(xb[0]), yb, preds, parts, wb, hits)
                logs = tracker.logs() if batch_logs else {}
            callback_list.on_train_batch_end(step, logs)
            if self.stop_training:
                break
        return tracker.logs()

    def _step_data(self, xb, yb, wb):
        """A custom step's data as Keras packs it: (x, y) or (x, y, sample_weight); without y, x alone (a list
        or tuple of inputs in a 1-tuple, so that it cannot be read as (x, y)), and weights without y dropped."""
        x = self._model_input(xb)
        if yb is None:
            return (x,) if isinstance(x, (list, tuple)) else x
        return (x, yb) if wb is None else (x, yb, wb.astype(self.dtype))

    def _evaluate_arrays(self, xs, ys, weights=None, batch_size=32, callback_list=None, steps=None):
        steps = _step_cap(steps, math.ceil(len(xs[0]) / batch_size), stacklevel=6)  # at evaluate's caller
        tracker = _Tracker(self)
        self.train(False)
        hooks = callback_list or CallbackList([], self, {})
        hooks.on_test_begin()
        custom = self._overrides("test_step")
        batch_logs = hooks.implements("on_test_batch_end")
        for step, index in enumerate(itertools.islice(self._batches(len(xs[0]), batch_size, False), steps)):
            hooks.on_test_batch_begin(step)
            xb, yb, wb = _batch(xs, ys, weights, index)
            if custom:
                logs = tracker.custom(self.test_step(self._step_data(xb, yb, wb)))
            else:
                loss, preds, parts = self._test_batch(xb, yb, wb)
                tracker.update(loss, len(xb[0]), yb, preds, parts, wb)
                logs = tracker.logs() if batch_logs else {}
            hooks.on_test_batch_end(step, logs)
        logs = tracker.logs()
        hooks.on_test_end(logs)
        return logs

    def train_step(self, data):
        """One training step on `data` = (x, y) or (x, y, sample_weight); returns the logs. Override it
        to customize fit(), as Keras's guide "Customizing what happens in fit()" shows."""
        raise NotImplementedError  # fit() runs its own step unless a subclass overrides this

    def test_step(self, data):
        """One evaluation step; override it to customize evaluate() and validation."""
        raise NotImplementedError

    @_restores_modes
    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss (and metrics) over the data: a scalar, or [loss, *metrics] when metrics were compiled."""
        if _is_dataset(x):
            x, y, sample_weight, batch_size = _materialize(x, steps)
        batch_size = data.check_batch_size(batch_size)
        xs, ys, weights = self._prepare(x, y, sample_weight, step="test_step")
        hooks = CallbackList(list(callbacks or []), self, {"steps": math.ceil(len(xs[0]) / batch_size)})
        logs = self._evaluate_arrays(xs, ys, weights, batch_size, hooks, steps)
        if verbose == 1 or verbose == 2:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in sorted(logs.items())))
        return logs if return_dict else self._keras_result(logs)

    def _keras_result(self, logs):
        """Keras's return value: the loss alone, or [loss, *others] when more was logged."""
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @_restores_modes
    def predict(self, x, batch_size=32, verbose=0, steps=None, callbacks=None):
        """The model's outputs (probabilities for a softmax/sigmoid head): an ndarray, or a list of them
        for a model with several outputs."""
        if _is_dataset(x):
            x, _, _, batch_size = _materialize(x, steps)
        batch_size = data.check_batch_size(batch_size)
        xs = self._features(x)
        self._build_from(xs)
        self.train(False)
        hooks = CallbackList(list(callbacks or []), self, {"steps": math.ceil(len(xs[0]) / batch_size)})
        steps = _step_cap(steps, math.ceil(len(xs[0]) / batch_size))
        hooks.on_predict_begin()
        batches, structure = [], None
        with no_grad():
            for step, start in enumerate(itertools.islice(range(0, len(xs[0]), batch_size), steps)):
                hooks.on_predict_batch_begin(step)
                out = self(self._model_input([Tensor._from_op(a[start:start + batch_size], None) for a in xs]),
                           training=False)
                structure = out
                batches.append([t.numpy() for t in tree.flatten(out)])
                hooks.on_predict_batch_end(step, {"outputs": batches[-1]})
        hooks.on_predict_end()
        joined = [np.concatenate(parts) for parts in zip(*batches)]
        return tree.pack_like(structure, joined)

    @_restores_modes
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        xs, ys, weights = self._prepare(x, y, sample_weight, class_weight)
        self.train(True)
        tracker = _Tracker(self)
        if self._overrides("train_step"):
            tracker.custom(self.train_step(self._step_data(xs, ys, weights)))
        else:
            loss, preds, parts, hits = self._train_batch(xs, ys, weights)
            tracker.update(loss, len(xs[0]), ys, preds, parts, weights, hits)
        logs = tracker.logs()
        return logs if return_dict else self._keras_result(logs)

    @_restores_modes
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        xs, ys, weights = self._prepare(x, y, sample_weight, step="test_step")
        self.train(False)
        tracker = _Tracker(self)
        if self._overrides("test_step"):
            tracker.custom(self.test_step(self._step_data(xs, ys, weights)))
        else:
            loss, preds, parts = self._test_batch(xs, ys, weights)
            tracker.update(loss, len(xs[0]), ys, preds, parts, weights)
        logs = tracker.logs()
        return logs if return_dict else self._keras_result(logs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(self._features(x)[0]), 1))

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = None  # recorded plans hold the last batch's arrays; a copy records its own
        return state


def _capped(count, what, most, stacklevel=4):
    """config.set_max_epochs / set_max_steps_per_epoch (or KERAS_MAX_EPOCHS, ...): a quick run of code written
    for a long one, with Keras's warning (by default at the caller of fit, past fit and its wrapper)."""
    if most and most < count:
        warnings.warn(f"Limiting {what} to {most}", stacklevel=stacklevel)
        return most
    return count


def _step_cap(steps, batches, stacklevel=5):
    """evaluate's, predict's and validation's steps (None: all `batches`) under max_steps_per_epoch, as
    Keras caps every epoch it iterates."""
    most = max_steps_per_epoch()
    return _capped(steps or batches, "steps_per_epoch", most, stacklevel) if most else steps


def _is_dataset(x):
    """Batches rather than arrays: a keras.utils.PyDataset (or another sequence of batches), a Python
    generator or iterator, or an iterable of batches such as a PyTorch DataLoader."""
    if isinstance(x, (list, tuple, dict, str)) or hasattr(x, "shape") or hasattr(x, "to_numpy"):
        return False
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__")) or hasattr(x, "__iter__")


def _epoch_batches(dataset, steps):
    """One epoch's batches: a sequence's in order (then its on_epoch_end), the next `steps` of an
    iterator (all that are left without steps), or a fresh pass over an iterable (a DataLoader)."""
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        batches = [dataset[i] for i in range(len(dataset) if steps is None else min(steps, len(dataset)))]
        if hasattr(dataset, "on_epoch_end"):
            dataset.on_epoch_end()
        return batches
    source = dataset if hasattr(dataset, "__next__") else iter(dataset)
    return list(itertools.islice(source, steps))


def _materialize(dataset, steps=None, required=True):
    """The batches of one epoch joined into arrays, in their order: (x, y, sample_weight, batch_size).
    Each batch is x, (x,), (x, y) or (x, y, sample_weight). fit() calls this once per epoch, so a
    dataset that reshuffles or augments in on_epoch_end is seen anew each time. An exhausted
    generator gives None (or, where data is `required`, an error)."""
    batches = _epoch_batches(dataset, steps)
    if not batches:
        if required:
            raise ValueError(f"the dataset gave no batches (an empty or exhausted generator?): {dataset!r}")
        return None
    parts = [tuple(b) if isinstance(b, (tuple, list)) else (b,) for b in batches]  # a list as a tuple, as Keras
    joined = [None if parts[0][k] is None else tree.pack_like(parts[0][k], [
        _joined(leaves) for leaves in zip(*[tree.flatten(p[k]) for p in parts])]) for k in range(len(parts[0]))]
    joined += [None] * (3 - len(joined))
    return (*joined, len(tree.flatten(parts[0][0])[0]))


def _joined(arrays):
    shapes = {np.shape(a)[1:] for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"the dataset's batches differ in shape beyond the batch axis ({sorted(shapes)}): the epoch's "
                         f"batches are joined, so give them one shape (pad label sequences to one length, say)")
    return np.concatenate(arrays)


def _penalizes_its_output(model):
    """Whether the model, or the layer ending it (through nested models), has an activity regularizer."""
    layer = model
    while layer is not None:
        if getattr(layer, "activity_regularizer", None) is not None:
            return True
        inner = getattr(layer, "output_layer", None)
        layer = inner if inner is not layer else None
    return False


def _batch(xs, ys, weights, index):
    """One batch of every input, target and (if given) the sample weights. ys is a list of arrays, or y as
    given to a custom step (a dict, tuple, ...); list comprehensions for the lists, as this runs every step."""
    rows = _taker(index)
    ys = [rows(a) for a in ys] if type(ys) is list else _rows(ys, index)
    return [rows(a) for a in xs], ys, None if weights is None else rows(weights)


def _taker(index):
    """A function giving an array's rows `index`, a slice (an itemgetter: no Python frame per array) or an
    array of row numbers (taken with take(): on a small batch, a fraction of what fancy indexing costs)."""
    return operator.itemgetter(index) if type(index) is slice else (lambda a: a.take(index, axis=0))


def _rows(structure, index):
    """The rows `index` of every array in a structure of them."""
    rows = _taker(index)
    return tree.map_structure(lambda a: None if a is None else rows(a), structure)


class _Tracker:
    """Running loss, per-output losses and metrics of an epoch, weighted by batch size as Keras reports."""

    def __init__(self, model):
        # (target position, output, metric, whether a loss op's count of hits may update it); a custom step
        # updates the metrics of outputs without targets itself
        self.metrics = [(model._target_position[i], i, metric, _takes_hits(metric)) for i, metric
                        in model.compiled_metrics if i in model._target_position]
        self.names = model._output_loss_names()
        for m in model.metrics:
            m.reset_state()
        self.loss_total, self.count = 0.0, 0
        self.part_totals = [0.0] * len(self.names)
        self.custom_logs = None

    def update(self, loss, n, ys, preds, parts, weights=None, hits=None):
        """Add a batch of n samples: its loss, per-output losses and, for the metrics, targets and outputs
        (and the sample weights, for the weighted_metrics). `hits`: how many samples the fused loss op found
        rightly classed (its pass over the logits counts them), which the sparse accuracy takes as its count."""
        self.loss_total += loss * n
        self.count += n
        for i, part in enumerate(parts):
            self.part_totals[i] += part * n
        for position, output, metric, takes_hits in self.metrics:
            if takes_hits and hits is not None:  # (only a single-output model's loss fuses: the output is it)
                metric.add_hits(hits, n)
                continue
            w = weights if getattr(metric, "weighted", False) else None
            metric.update_state(ys[position], preds[output], sample_weight=w)

    def custom(self, logs):
        """A train_step/test_step's own logs: Keras reports what it returns (the batch's callbacks get this
        dict, and what they add to it reaches the epoch's logs, as in Keras)."""
        self.custom_logs = {k: float(np.asarray(getattr(v, "data", v))) for k, v in (logs or {}).items()}
        return self.custom_logs

    def logs(self):
        if self.custom_logs is not None:
            return dict(self.custom_logs)
        logs = {"loss": self.loss_total / max(self.count, 1)}
        logs.update({f"{name}_loss": total / max(self.count, 1) for name, total in zip(self.names, self.part_totals)})
        logs.update({m.name: _log_value(m.result()) for _, _, m, _ in self.metrics})
        return logs


def _takes_hits(metric):
    """Whether `metric` may take a count of hits for update_state: an unweighted sparse accuracy of ours."""
    return isinstance(metric, metrics_module.MeanMetricWrapper) and metric.takes_hits() and \
        not getattr(metric, "weighted", False)


def _log_value(value):
    """A metric's result as Keras logs it: a float where it is one number (a custom metric's result() may
    return its state Tensor itself, which later batches change), else a copy of the array."""
    value = np.asarray(getattr(value, "data", value))
    return float(value.ravel()[0]) if value.size == 1 else value.copy()
