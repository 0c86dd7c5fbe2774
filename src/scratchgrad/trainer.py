"""The trainer: compile / fit / evaluate / predict / train_on_batch, for every model class.

A training step is the model's forward and the loss, run eagerly the first time for each input
signature inside `autograd.record()` and kept as a `StepPlan` (plan.py); later steps of the same
signature replay the plan on raw arrays. The plan's backward writes the gradients into the optimizer's
flat gradient buffer and the optimizer updates all weights in one fused pass. `compile(run_eagerly=True)`
trains through the autograd graph instead (Tensor, backward()), which gives the same numbers; a step
whose code read tensor values into Python (data-dependent control flow) is never replayed.

A model class provides: `__call__(x, training)`, `call_logits(x, training)` (the forward up to the last
layer's activation, for a fused loss), `output_layer`, `build`, `built`, `input_shape`, `output_shape`,
`dtype`, `weights`, `trainable_weights`, `regularization_loss()` and `train(mode)`.
"""
import itertools
import math
import os
import warnings
from collections import OrderedDict

import numpy as np

from . import activations
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers
from .autograd import no_grad, record
from .backend import keep_freed_memory
from .callbacks import CallbackList, History, ProgbarLogger, TerminateOnNaN
from . import validation as data
from .plan import StepPlan
from .random import get_rng
from .tensor import Tensor

_COMPILE_OPTIONS = {"steps_per_execution", "auto_scale_loss", "weighted_metrics", "loss_weights"}
_MAX_PLANS = 8  # input signatures kept per model: the full batch, the last short one, and a few more


class Trainer:
    optimizer = loss = None
    run_eagerly = False
    jit_compile = "auto"
    _plans = None

    # ---- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, run_eagerly=False, jit_compile="auto",
                **kwargs):
        """Choose the optimizer, the loss and the metrics (names or objects, as Keras takes them).

        `run_eagerly=True` trains through the autograd graph at every step; `jit_compile=False` never
        replays a recorded step plan (for a `call` whose control flow depends on the data)."""
        ignored = set(kwargs) - _COMPILE_OPTIONS
        if ignored:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(ignored)}")
        if loss is None:
            raise ValueError("compile() needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses_module.get(loss)
        if isinstance(metrics, dict):
            metrics = [m for ms in metrics.values() for m in (ms if isinstance(ms, (list, tuple)) else [ms])]
        self._metric_ids = list(metrics or [])
        self.compiled_metrics = []
        self.run_eagerly, self.jit_compile = bool(run_eagerly), jit_compile
        self.forget_plans()

    def forget_plans(self):
        """Drop the recorded step plans (the model's structure or compile settings changed)."""
        self._plans = OrderedDict()

    def _check_compiled(self):
        if self.loss is None:
            raise RuntimeError("the model must be compiled before training or evaluating: call model.compile(...)")

    def _fused_activation(self):
        """The output layer's activation when the loss takes its place (Softmax-with-Loss), else None."""
        layer = self.output_layer
        activation = None if layer is None else layer.output_activation
        return activation if self.loss.fuses(activation) else None

    # ---- the training step -------------------------------------------------------------------
    def _loss_graph(self, x, y, weights=None, training=True):
        """Forward and loss on Tensors; with a fused loss the model returns logits."""
        out = self.call_logits(x, training) if self._fused else self(x, training=training)
        loss = self.loss.value(out, y, weights, logits=self._fused is not None)
        reg = self.regularization_loss()
        return (loss + reg if isinstance(reg, Tensor) else loss), out

    def _train_batch(self, x, y, weights):
        arrays = [x, y] if weights is None else [x, y, weights.astype(x.dtype)]
        params = self._step_params
        if self.run_eagerly:
            loss, out = self._eager_step(arrays, params)
        else:
            loss, out = self._planned_step(arrays, params)
        return float(loss), self._predictions(out)

    def _eager_step(self, arrays, params):
        """The textbook path: build the graph, backward(), then apply each weight's .grad."""
        loss, out = self._loss_graph(*[Tensor._from_op(a, None) for a in arrays], training=True)
        if loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            loss.backward()
        grads = [p.grad if p.grad is not None else np.zeros_like(p.data) for p in params]
        self.optimizer.zero_grad(params)
        self.optimizer.apply(grads, params)
        return loss.data, out.data

    def _planned_step(self, arrays, params):
        key = (*[(a.shape, a.dtype) for a in arrays], self._fused, self._params_key)
        plan = self._plans.get(key)
        if plan is None:
            plan, (loss, out) = self._record_step(arrays, params)
            if self.jit_compile is not False and not plan.dynamic:
                self._plans[key] = plan
                if len(self._plans) > _MAX_PLANS:
                    self._plans.popitem(last=False)
        else:
            loss, out = plan.forward(arrays)
        if params:
            params = plan.trainable  # the same list object every step: the optimizer recognizes it at once
            buffers = self.optimizer.gradient_buffers(params)
            plan.backward(buffers)
            self.optimizer.apply(buffers, params)
        return loss, out

    def _record_step(self, arrays, params):
        """Run one step eagerly, listing its Function calls, and make it a plan."""
        inputs = [Tensor._from_op(a, None) for a in arrays]
        with record() as recording:
            loss, out = self._loss_graph(*inputs, training=True)
        return StepPlan(recording, inputs, [loss, out], self.weights, params), (loss.data, out.data)

    def _predictions(self, out):
        """Probabilities for the metrics (the fused path produced logits; argmax needs none)."""
        if self._fused is None or not any(m.needs_probabilities for m in self.compiled_metrics):
            return out
        with no_grad():
            return activations.get(self._fused)(Tensor._from_op(out, None)).data

    def _test_batch(self, x, y, weights):
        with no_grad():
            loss, out = self._loss_graph(Tensor._from_op(x, None), Tensor._from_op(y, None),
                                         None if weights is None else Tensor._from_op(weights.astype(x.dtype), None),
                                         training=False)
        return float(loss.data), self._predictions(out.data)

    # ---- checking what comes in --------------------------------------------------------------
    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        """Convert and check x (and y) at the boundary; build the model from x if needed."""
        self._check_compiled()
        x = data.features(x, self.dtype, self.input_shape if self.built else None)
        if not self.built:
            self.build(x.shape)
        output_shape = self.output_shape
        y = data.targets(y, len(x), self.loss, output_shape, self.dtype) if y is not None else None
        weights = data.sample_weights(sample_weight, class_weight, y, len(x)) if y is not None else None
        if not self.compiled_metrics and self._metric_ids:
            self.compiled_metrics = [metrics_module.get(m, self.loss.name, output_shape, y.shape)
                                     for m in self._metric_ids]
        self._fused = self._fused_activation()
        # the weights trained by this fit() (as in Keras, a trainable flag changed later counts from the next)
        self._step_params = self.trainable_weights
        self._params_key = tuple(map(id, self._step_params))
        if self._plans is None:
            self.forget_plans()
        return x, y, weights

    # ---- optimizer state ---------------------------------------------------------------------
    def get_optimizer_state(self):
        """The optimizer's state, one dict of slots per trainable weight (in the weights' order)."""
        return self.optimizer.get_state(self.trainable_weights)

    def set_optimizer_state(self, state):
        """Restore `get_optimizer_state()`'s result; shapes are checked against the weights now."""
        self.optimizer.set_state(state)
        self.optimizer.build(self.trainable_weights)

    # ---- fit / evaluate / predict ------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs of mini-batches; returns a History of per-epoch logs."""
        batch_size = data.check_batch_size(batch_size)
        if os.environ.get("SCRATCHGRAD_KEEP_MEMORY") == "1":
            keep_freed_memory()
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        x, y, weights = self._prepare(x, y, sample_weight, class_weight)
        if y is None:
            raise ValueError("fit() needs targets y")
        if validation_split and validation_data is None:
            split = int(len(x) * (1 - validation_split))  # Keras: the last samples, before shuffling
            if split == 0 or split == len(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or validation samples")
            # sample weights follow their samples; class weights apply to training only, as in Keras
            val_weights = data.sample_weights(sample_weight, None, y, len(x))
            validation_data = (x[split:], y[split:]) + ((val_weights[split:],) if val_weights is not None else ())
            x, y, weights = x[:split], y[:split], None if weights is None else weights[:split]
        validation = self._prepare(*validation_data) if validation_data is not None else None

        steps = math.ceil(len(x) / batch_size)
        if steps_per_epoch is not None:
            if int(steps_per_epoch) != steps_per_epoch or steps_per_epoch < 1:
                raise ValueError(f"steps_per_epoch must be a positive integer, got {steps_per_epoch!r}")
            steps = min(steps, int(steps_per_epoch))  # an epoch of fewer batches, as in Keras
        history = History()
        verbose = 1 if verbose == "auto" else verbose
        # Keras's order: the progress line first, History last so it records what callbacks added
        cbs = ([ProgbarLogger(verbose)] if verbose else []) + list(callbacks or []) + [history]
        callback_list = CallbackList(cbs, self, {"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        self._warn_on_nan = not any(isinstance(cb, TerminateOnNaN) for cb in cbs)
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            logs = self._run_epoch(x, y, weights, batch_size, shuffle, steps, epoch, callback_list)
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val = self._evaluate_arrays(*validation, batch_size=validation_batch_size or batch_size)
                logs.update({f"val_{k}": v for k, v in val.items()})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callback_list.on_train_end()
        self.train(False)
        return history

    @staticmethod
    def _batches(n, batch_size, shuffle):
        order = get_rng().permutation(n) if shuffle else None
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size] if shuffle else slice(start, start + batch_size)

    def _run_epoch(self, x, y, weights, batch_size, shuffle, steps, epoch, callback_list):
        tracker = _Tracker(self.compiled_metrics)
        self.train(True)
        warned = not self._warn_on_nan
        for step, index in enumerate(itertools.islice(self._batches(len(x), batch_size, shuffle), steps)):
            callback_list.on_train_batch_begin(step)
            xb, yb = x[index], y[index]
            loss, pred = self._train_batch(xb, yb, None if weights is None else weights[index])
            if not math.isfinite(loss) and not warned:
                warned = True
                warnings.warn(f"loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                              f"add callbacks=[TerminateOnNaN()] to stop there", RuntimeWarning, stacklevel=3)
            tracker.update(loss, yb, pred)
            callback_list.on_train_batch_end(step, tracker.logs())
            if self.stop_training:
                break
        return tracker.logs()

    def _evaluate_arrays(self, x, y, weights=None, batch_size=32):
        tracker = _Tracker(self.compiled_metrics)
        self.train(False)
        for index in self._batches(len(x), batch_size, shuffle=False):
            loss, pred = self._test_batch(x[index], y[index], None if weights is None else weights[index])
            tracker.update(loss, y[index], pred)
        return tracker.logs()

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", sample_weight=None, return_dict=False):
        """Loss (and metrics) over the data: a scalar, or [loss, *metrics] when metrics were compiled."""
        batch_size = data.check_batch_size(batch_size)
        x, y, weights = self._prepare(x, y, sample_weight)
        if y is None:
            raise ValueError("evaluate() needs targets y")
        logs = self._evaluate_arrays(x, y, weights, batch_size)
        if verbose == 1 or verbose == 2:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in sorted(logs.items())))
        return logs if return_dict else self._keras_result(logs)

    def _keras_result(self, logs):
        """Keras's return value: the loss alone, or [loss, *metrics] when metrics were compiled."""
        values = [logs["loss"]] + [logs[m.name] for m in self.compiled_metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs (probabilities for a softmax/sigmoid head) as an ndarray."""
        batch_size = data.check_batch_size(batch_size)
        x = data.features(x, self.dtype, self.input_shape if self.built else None)
        if not self.built:
            self.build(x.shape)
        self.train(False)
        with no_grad():
            outs = [self(Tensor._from_op(x[i:i + batch_size], None), training=False).numpy()
                    for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        x, y, weights = self._prepare(x, y, sample_weight, class_weight)
        self.train(True)
        loss, pred = self._train_batch(x, y, weights)
        self.train(False)
        return self._batch_result(loss, y, pred)

    def test_on_batch(self, x, y, sample_weight=None):
        x, y, weights = self._prepare(x, y, sample_weight)
        self.train(False)
        loss, pred = self._test_batch(x, y, weights)
        return self._batch_result(loss, y, pred)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(data.features(x, self.dtype)), 1))

    def _batch_result(self, loss, y, pred):
        tracker = _Tracker(self.compiled_metrics)
        tracker.update(loss, y, pred)
        return self._keras_result(tracker.logs())

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_plans"] = None  # recorded plans hold the last batch's arrays; a copy records its own
        return state


class _Tracker:
    """Running loss and metrics of an epoch, weighted by batch size as Keras reports them."""

    def __init__(self, metrics):
        self.metrics = metrics
        for m in metrics:
            m.reset()
        self.loss_total, self.count = 0.0, 0

    def update(self, loss, y, pred):
        n = len(y)
        self.loss_total += loss * n
        self.count += n
        for m in self.metrics:
            m.update(y, pred)

    def logs(self):
        logs = {"loss": self.loss_total / max(self.count, 1)}
        logs.update({m.name: m.result() for m in self.metrics})
        return logs
