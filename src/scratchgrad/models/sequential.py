"""Sequential: a stack of layers with Keras's compile / fit / evaluate / predict."""
import itertools
import math
import warnings

import numpy as np

from .. import functional as F
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers
from ..autograd import no_grad
from ..backend import floatx, keep_freed_memory
from ..callbacks import CallbackList, History, ProgbarLogger, TerminateOnNaN
from ..layers import InputLayer, Layer
from ..parameters import FlatParameters
from ..random import get_rng
from ..tensor import Tensor
from . import data, tape

_FUSABLE = {"softmax": F.softmax, "sigmoid": F.sigmoid}


class Sequential(Layer):
    """A linear stack of layers. Built from a list or with `add()`; weights are created from
    `Input(shape)`, the first layer's `input_shape`/`input_dim`, or the first batch it sees."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.layers = []
        self.optimizer = self.loss = None
        self.compiled_metrics = []
        self.stop_training = False
        self.history = None
        self._input_shape = self._output_shape = None  # with the batch axis (None)
        self._flat = None  # FlatParameters once training starts (see parameters.py)
        self.fast_path = True  # False: always train through the autograd graph (models/tape.py)
        for layer in layers or []:
            self.add(layer)

    # ---- structure ---------------------------------------------------------------------------
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self.layers:
                raise ValueError("an Input must come first in a Sequential model")
            self._input_shape = (None,) + layer.input_shape
            return
        self.layers.append(layer)
        hint = _declared_input(layer) if len(self.layers) == 1 else None
        if hint is not None:
            self._input_shape = (None,) + hint
        if self._input_shape is not None:
            self.build(self._input_shape)

    def build(self, input_shape):
        """Create every layer's weights for inputs of `input_shape` (batch axis first)."""
        self._input_shape = (None,) + tuple(input_shape[1:])
        shape = self._input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        self._output_shape = shape
        self.built = bool(self.layers)

    @property
    def input_shape(self):
        return self._input_shape

    @input_shape.setter
    def input_shape(self, value):
        self._input_shape = None if value is None else (None,) + tuple(value)

    @property
    def output_shape(self):
        """The output shape found by build() (batch axis None), or None before the model is built."""
        return self._output_shape

    def call(self, x, training=False):
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def __call__(self, x, training=None):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if not self.built:
            self.build(x.shape)
        return self.call(x, self.training if training is None else training)

    @property
    def dtype(self):
        first = next((layer.dtype for layer in self.layers if layer.dtype is not None), None)
        return first or floatx()

    @dtype.setter
    def dtype(self, value):
        pass  # a model's dtype is its layers'

    # ---- weights -----------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in getattr(self, "layers", []):
            layer.trainable = value

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def regularization_loss(self):
        total = 0.0
        for layer in self.layers:
            total = layer.regularization_loss() + total
        return total

    def train(self, mode=True):
        """Put every layer in training (or evaluation) mode: Dropout and BatchNorm depend on it."""
        self.training = mode
        for layer in self.layers:
            if isinstance(layer, Sequential):
                layer.train(mode)
            layer.training = mode
        return self

    def eval(self):
        return self.train(False)

    # ---- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, the loss and the metrics (names or objects, as Keras takes them)."""
        ignored = set(kwargs) - {"run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss",
                                 "weighted_metrics", "loss_weights"}
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
        self._flat = None

    def _check_compiled(self):
        if self.loss is None:
            raise RuntimeError("the model must be compiled before training or evaluating: call model.compile(...)")

    def _fused_activation(self):
        """The last layer's softmax/sigmoid when the loss can absorb it into a stable fused op."""
        if not self.layers or self.loss.fused_activation is None or self.loss.from_logits:
            return None
        last = self.layers[-1]
        wanted = _FUSABLE[self.loss.fused_activation]
        if getattr(last, "activation", None) is wanted and hasattr(last, "call_linear"):
            return wanted
        return None

    # ---- the training step -------------------------------------------------------------------
    def _forward_for_loss(self, x, training):
        """Run the layers; with a fused loss the last activation is skipped and logits come back."""
        if self._fused is None:
            return self.call(x, training)
        for layer in self.layers[:-1]:
            x = layer(x, training=training)
        return self.layers[-1].call_linear(x, training)

    def _loss_value(self, out, y, weights):
        if self._fused is not None:
            per_sample = self.loss.per_sample_from_logits(out, y)
        else:
            per_sample = self.loss.per_sample(out, y)
        loss = losses_module.weighted_mean(per_sample, weights)
        reg = self.regularization_loss()
        return loss + reg if isinstance(reg, Tensor) else loss

    def _predictions(self, out):
        """Probabilities for the metrics (the fused path produced logits; argmax needs none)."""
        if self._fused is None or not any(m.needs_probabilities for m in self.compiled_metrics):
            return out.data
        with no_grad():
            return self._fused(Tensor._from_op(out.data, None)).data

    def _train_batch(self, x, y, weights):
        steps = tape.build(self.layers, training=True) if self._use_tape else None
        if steps is None:
            loss, out = self._graph_step(x, y, weights)
        else:
            loss, out = self._tape_step(steps, x, y, weights)
        self._update()
        return loss, self._predictions(out)

    def _graph_step(self, x, y, weights):
        """Forward through the autograd graph, backward(), gradients left in each parameter's .grad."""
        out = self._forward_for_loss(Tensor._from_op(x, None), training=True)
        loss = self._loss_value(out, y, weights)
        if loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            loss.backward()
        if self._flat is not None:
            self._flat.collect_grads()
        return float(loss.data), out

    def _tape_step(self, steps, x, y, weights):
        """The same step on the tape (models/tape.py): gradients land in the flat gradient buffer."""
        if self._fused is not None:
            steps = steps[:-1]  # the softmax/sigmoid is inside the fused loss
        out = tape.forward(steps, x)
        loss_op = self.loss.primitive("mean" if weights is None else "none", self._fused is not None)
        value = loss_op.forward(out, y)
        if weights is None:
            upstream = value.dtype.type(1)
        else:
            upstream = (weights / len(x)).astype(out.dtype)
            value = (value * upstream).sum()
        tape.backward(steps, loss_op.backward(upstream)[0], self._grad_views)
        loss = float(value)
        reg = self.regularization_loss()
        if isinstance(reg, Tensor):
            reg.backward()
            loss += float(reg.data)
            for p in self._params:
                if p.grad is not None:
                    self._grad_views[id(p)] += p.grad
                    p.grad = None
        return loss, Tensor._from_op(out, None)

    def _update(self):
        if self._flat is None:
            self.optimizer.step(self._params)
            self.optimizer.zero_grad(self._params)
        else:
            self.optimizer.apply([self._flat.grad], [self._flat.tensor])

    def _test_batch(self, x, y, weights):
        with no_grad():
            out = self._forward_for_loss(Tensor._from_op(x, None), training=False)
            loss = self._loss_value(out, y, weights)
        return float(loss.data), self._predictions(out)

    # ---- fit / evaluate / predict ------------------------------------------------------------
    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        """Convert and check x (and y) at the boundary; build the model from x if needed."""
        self._check_compiled()
        x = data.features(x, self.dtype, self._input_shape if self.built else None)
        if not self.built:
            self.build(x.shape)
        output_shape = self.output_shape
        y = data.targets(y, len(x), self.loss, output_shape, self.dtype) if y is not None else None
        weights = data.sample_weights(sample_weight, class_weight, y, len(x)) if y is not None else None
        if not self.compiled_metrics and self._metric_ids:
            self.compiled_metrics = [metrics_module.get(m, self.loss.name, output_shape, y.shape)
                                     for m in self._metric_ids]
        self._fused = self._fused_activation()
        self._prepare_parameters()
        return x, y, weights

    def _prepare_parameters(self):
        """Pack the trainable weights into one flat buffer (kept across fits) and pick the step:
        the tape when every layer and the loss are known primitives, else the autograd graph."""
        params = self.trainable_weights
        self._params = params
        flat_ok = FlatParameters.eligible(params) and self.optimizer.clipnorm is None
        if flat_ok and (self._flat is None or not self._flat.intact(params)):
            self._repack(params)
        elif not flat_ok:
            self._flat = None
        unique = len({id(p) for p in params}) == len(params)
        self._use_tape = (self.fast_path and self._flat is not None and unique
                          and self.loss.primitive("mean", self._fused is not None) is not None)
        self._grad_views = {id(p): g for p, g in zip(params, self._flat.grad_views)} if self._flat else {}

    def _repack(self, params):
        """Pack `params` into a new flat buffer. The optimizer's state moves along for every weight
        that had some (a layer frozen or unfrozen, a copied or unpickled model); new weights start
        fresh, as they would without packing."""
        old, carried = self._flat, {}
        if old is not None:
            slots = self.optimizer.pop_slots(old.tensor)
            if slots:
                carried = dict(zip(old.params, old.split(slots)))
        self._flat = FlatParameters(params)
        if carried:
            per_weight = [carried.get(p) or self.optimizer.initial_slots(p) for p in params]
            self.optimizer.set_state({"iterations": self.optimizer.iterations, "slots": [self._flat.merge(per_weight)]})

    def get_optimizer_state(self):
        """The optimizer's state per trainable weight (unpacked from the flat buffer if in use)."""
        if self._flat is None:
            return self.optimizer.get_state(self.trainable_weights)
        state = self.optimizer.get_state([self._flat.tensor])
        slots = self._flat.split(state["slots"][0]) if state["slots"] else []
        return {"iterations": state["iterations"], "slots": slots}

    def set_optimizer_state(self, state):
        """Restore `get_optimizer_state()`'s result; shapes are checked against the weights now."""
        self._fused = self._fused_activation()
        self._prepare_parameters()
        self._load_optimizer_state(state)

    def _load_optimizer_state(self, state):
        if self._flat is None:
            self.optimizer.set_state(state)
            self.optimizer.build(self._params)
            return
        slots = [self._flat.merge(state["slots"])] if state["slots"] else []
        self.optimizer.set_state({"iterations": state["iterations"], "slots": slots})
        self.optimizer.build([self._flat.tensor])

    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs of mini-batches; returns a History of per-epoch logs."""
        batch_size = data.check_batch_size(batch_size)
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

    def _batches(self, n, batch_size, shuffle):
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
        x = data.features(x, self.dtype, self._input_shape if self.built else None)
        if not self.built:
            self.build(x.shape)
        self.train(False)
        with no_grad():
            outs = [self.call(Tensor._from_op(x[i:i + batch_size], None)).numpy() for i in range(0, len(x), batch_size)]
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

    # ---- description -------------------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a Keras-style table: each layer's output shape and parameter count, then the totals."""
        rows, shape = [], self._input_shape
        for layer in self.layers:
            if shape is not None:
                shape = layer.compute_output_shape(shape)
            out = data._show(shape) if shape is not None else "?"
            params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", out, params))
        total = self.count_params()
        trainable = sum(w.size for w in self.trainable_weights)
        itemsize = np.dtype(self.dtype).itemsize
        line, thick = "_" * 72, "=" * 72
        lines = [f'Model: "{self.name}"', line, f"{'Layer (type)':<34}{'Output Shape':<24}{'Param #':>14}", thick]
        lines += [f"{name:<34}{out:<24}{params:>14}" for name, out, params in rows]
        lines += [thick, f"Total params: {total:,} ({_size(total * itemsize)})",
                  f"Trainable params: {trainable:,} ({_size(trainable * itemsize)})",
                  f"Non-trainable params: {total - trainable:,} ({_size((total - trainable) * itemsize)})", line]
        print_fn("\n".join(lines))

    def get_config(self):
        from ..layers import serialize

        config = {"name": self.name, "layers": [serialize(layer) for layer in self.layers]}
        if self._input_shape is not None:
            config["input_shape"] = list(self._input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config):
        from ..layers import deserialize

        model = cls(name=config.get("name"))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config))
        if config.get("input_shape") is not None and not model.built:
            model.build((None,) + tuple(config["input_shape"]))
        return model

    def plot(self, path=None):
        """The layer graph as Graphviz DOT text, drawn to `path` (.svg/.png/.pdf) when given."""
        from ..viz import plot_model

        return plot_model(self, path)

    # ---- saving (see saving.py) --------------------------------------------------------------
    def save(self, filepath):
        from .saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath):
        from .saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath):
        from .saving import load_weights

        load_weights(self, filepath)


def _declared_input(layer):
    """The input shape a layer declares, without the batch axis (a Sequential's includes it)."""
    shape = layer.input_shape
    return shape[1:] if isinstance(layer, Sequential) and shape is not None else shape


def _size(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024


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


def _register():
    from ..layers import register

    register(Sequential)  # a Sequential can be a layer of another, and load_model must rebuild it


_register()
