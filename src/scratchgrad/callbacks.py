"""Callbacks: hooks that fit() calls at the start and end of training, of each epoch and of each batch."""
import contextlib
import csv
import json
import math
import os
import re
import string
import sys
import warnings

from .files import atomic_write
from .progress import ProgressBar, is_live
from .validation import all_finite


class Callback:
    """Override any hook. `self.model` is the model being trained; set `model.stop_training = True`
    to stop after the current batch/epoch."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...  # Keras's older names for the two hooks below
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


_ALIASES = {"on_train_batch_begin": ("on_batch_begin",), "on_train_batch_end": ("on_batch_end",)}


def _overrides(cb, hook):
    """Whether `cb` does something at `hook`, looked up on the class: reading the hook is not calling it."""
    return hook in getattr(cb, "__dict__", ()) or getattr(type(cb), hook, None) is not getattr(Callback, hook)


def _may_act(cb, hooks):
    """Whether fit must call `cb` at a hook: always for a user's callback (it may set a hook at any time; Keras
    looks each up at every call), and for scratchgrad's own where the hook or its alias is not the base class's
    no-op (History's batch hooks, say, which fit would call at every batch)."""
    return not type(cb).__module__.startswith("scratchgrad.") or any(_overrides(cb, h) for h in hooks)


class CallbackList:
    """Calls the same hook on every callback in order, always with a logs dict (as Keras does)."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def implements(self, hook):
        """Whether some callback does something at `hook` (the base Callback's hooks do nothing): fit
        builds a batch's logs only for a callback that reads them."""
        hooks = (hook, *_ALIASES.get(hook, ()))
        return any(getattr(cb, "reads_batch_logs", True) and any(_overrides(cb, h) for h in hooks)
                   for cb in self.callbacks)

    def __getattr__(self, hook):
        hooks = (hook, *_ALIASES.get(hook, ()))
        acting = [cb for cb in self.callbacks if _may_act(cb, hooks)]  # fit calls some hooks every batch
        arity = 2 if "epoch" in hook or "batch" in hook else 1  # (index, logs) or (logs)

        def call_all(*args):
            if len(args) < arity:
                args = args + ({},)
            for cb in acting:
                getattr(cb, hook)(*args)

        call = call_all if acting else _nothing  # a batch's hooks, every batch: nothing to call costs nothing
        setattr(self, hook, call)  # looked up once per fit, not once per batch
        return call


def _nothing(*args):
    pass


class History(Callback):
    """Records each epoch's logs: `history.history["loss"]` is the list of epoch losses (keys in sorted
    order, as Keras 3 lists them)."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in sorted((logs or {}).items()):
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints progress: verbose=1 a live bar on a terminal (one line per epoch when piped), verbose=2
    one line per epoch."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose, self.stream = verbose, stream or sys.stdout
        self.live = verbose == 1 and is_live(self.stream)
        self.reads_batch_logs = self.live  # one line per epoch shows the epoch's logs only

    def on_epoch_begin(self, epoch, logs=None):
        header = f"Epoch {epoch + 1}/{self.params['epochs']}"
        self.bar = ProgressBar(self.params["steps"], self.live, self.stream, prefix="" if self.live else header + " - ",
                               header=header if self.live else None)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.finish(logs or {})


def _improvement(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be auto, min or max, got {mode!r}")
    if mode == "auto":
        mode = "max" if "acc" in monitor or monitor.endswith("auc") else "min"
    return mode


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        self.monitor, self.min_delta = monitor, abs(min_delta)
        self.mode = _improvement(mode, monitor)
        self.best = None

    def current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__}: '{self.monitor}' is not in the logs "
                          f"(available: {', '.join(sorted(logs or {}))})", stacklevel=3)
        return value

    def improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs; optionally put back
    the weights of the best epoch when training ends."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = self.baseline

    def on_epoch_end(self, epoch, logs=None):
        value = self.current(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping; best {self.monitor} {self.best:.4f} at epoch "
                      f"{self.best_epoch + 1}")


    def on_train_end(self, logs=None):
        # Keras 3 restores at the end of training, whether it stopped early or ran all its epochs
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model (or its weights) after each epoch, or only when `monitor` improved.
    `filepath` may hold format fields: "ckpt-{epoch:02d}-{val_loss:.2f}.sg"; a field that names no logged
    key is refused before training where fit() knows its logs. Weights that turned NaN or infinite are
    never saved: the last good file is kept, with a warning."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, 0.0)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive number of batches, got {save_freq!r}")
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq, self.best = save_freq, initial_value_threshold
        self._batches, self._epoch = 0, 0

    def on_train_begin(self, logs=None):
        logged = self.params.get("metrics")  # None where fit() cannot know (a custom train_step or callback)
        if logged is None:
            return
        if self.save_freq != "epoch":  # batch logs: validation runs only at an epoch's end
            logged = [key for key in logged if not key.startswith("val_")]
        missing = sorted(_template_keys(self.filepath) - {"epoch", *logged})
        if missing:
            raise self._missing_key(missing[0], logged)

    def _missing_key(self, key, logged):
        return KeyError(f"ModelCheckpoint filepath {self.filepath!r} names {{{key}}}, which is not logged; the "
                        f"logged keys are: epoch, {', '.join(sorted(logged))}")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs):
        logs = logs or {}
        value = self.current(logs) if self.save_best_only else None
        if self.save_best_only and (value is None or not math.isfinite(value) or not self.improved(value)):
            return
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise self._missing_key(err.args[0], logs) from None
        if not all(all_finite(w.numpy()) for w in self.model.weights):
            warnings.warn(f"ModelCheckpoint: the weights after epoch {epoch + 1} are NaN or infinite; {path} is "
                          f"not written (an earlier save there is kept)", stacklevel=3)
            return
        if self.save_best_only:
            self.best = value
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved to {path}")


def _template_keys(template):
    """The log keys a path template names: "ckpt-{epoch:02d}-{val_loss:.2f}" -> {"epoch", "val_loss"}."""
    return {re.split(r"[.\[]", field)[0] for _, field, _, _ in string.Formatter().parse(template) if field}


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite, saying where it happened."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {self.epoch + 1}, batch {batch + 1}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start from schedule(epoch, lr) (or schedule(epoch))."""

    adds_to_logs = ("learning_rate",)  # what fit() tells the other callbacks to expect (see ModelCheckpoint)

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, optimizer.learning_rate)
        except TypeError:
            lr = self.schedule(epoch)
        optimizer.learning_rate = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs. Each epoch's logs
    get the learning rate it trained with, as Keras logs it."""

    adds_to_logs = ("learning_rate",)

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_left, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        value = self.current(logs)
        if value is None:
            return
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        optimizer = self.model.optimizer
        if self.wait >= self.patience and self.cooldown_left == 0 and optimizer.learning_rate > self.min_lr:
            optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
            self.cooldown_left, self.wait = self.cooldown, 0
            if self.verbose:
                print(f"Epoch {epoch + 1}: reducing learning rate to {optimizer.learning_rate:.6g}")


class RemoteMonitor(Callback):
    """Each epoch's logs POSTed to root + path, as Keras's: {"epoch": ..., **logs} as JSON, in a form field
    `field` (or as the JSON body with send_as_json=True), with `headers`. Sent by Python's urllib (Keras's
    needs the requests package); a server that cannot be reached gives a warning, not an error."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root, self.path, self.field, self.headers, self.send_as_json = root, path, field, headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error
        import urllib.parse
        import urllib.request

        sent = {"epoch": epoch, **{k: v.item() if hasattr(v, "item") else v for k, v in (logs or {}).items()}}
        if self.send_as_json:
            body, kind = json.dumps(sent).encode(), "application/json"
        else:
            body, kind = urllib.parse.urlencode({self.field: json.dumps(sent)}).encode(), \
                "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, method="POST",
                                         headers={"Content-Type": kind, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)


class CSVLogger(Callback):
    """Each epoch's logs as a CSV row: epoch first, then the keys in sorted order.

    The file is rewritten whole after every epoch (see files.atomic_write), so a reader, or a run killed
    mid-write, never finds half a row; and its header always covers every column so far: keys that appear
    later (val_ keys with validation_freq=2) become new columns, left empty in the rows before them.
    `append=True` keeps the rows already in the file (under the same rule); otherwise the file is removed
    when training begins."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        self.rows = []
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self.rows = list(csv.DictReader(f, delimiter=self.separator))
            for row in self.rows:
                row.pop(None, None)  # cells beyond the header (an older CSVLogger's rows) have no column to go to
        elif not self.append:
            with contextlib.suppress(FileNotFoundError):  # a previous run's log is not this one's
                os.remove(self.filename)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})
        columns = ["epoch"] + sorted({key for row in self.rows for key in row} - {"epoch"})
        with atomic_write(self.filename, "w", newline="") as f:
            writer = csv.DictWriter(f, columns, restval="", delimiter=self.separator)
            writer.writeheader()
            writer.writerows(self.rows)


class BackupAndRestore(Callback):
    """Survive an interrupted fit(): the whole model (weights, optimizer state) is saved to `backup_dir`
    after every epoch (or every `save_freq` batches), and a fit() that finds a backup there resumes after
    its epoch. The backup is deleted when training finishes, unless delete_checkpoint=False."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive number of batches, got {save_freq!r}")
        self.backup_dir, self.save_freq, self.delete_checkpoint = os.fspath(backup_dir), save_freq, delete_checkpoint
        self._batches, self._epoch = 0, 0

    def _backups(self):
        if not os.path.isdir(self.backup_dir):
            return []
        names = [n for n in os.listdir(self.backup_dir) if n.startswith("epoch-") and n.endswith(".sg")]
        return sorted(names, key=lambda n: int(n[6:-3]))

    def on_train_begin(self, logs=None):
        backups = self._backups()
        if not backups:
            return
        from .models.saving import load_model, seed_generators

        saved = load_model(os.path.join(self.backup_dir, backups[-1]))  # also sets the global random state
        self.model.set_weights(saved.get_weights())
        self.model.set_optimizer_state(saved.get_optimizer_state())
        for ours, restored in zip(seed_generators(self.model), seed_generators(saved)):  # seeded layers' draws
            ours.generator.bit_generator.state = restored.generator.bit_generator.state
        rate = getattr(saved.optimizer, "_learning_rate", None)  # None: a MultiOptimizer's optimizers have their own
        if rate is not None and not callable(rate):  # a rate a callback changed (a schedule follows the step)
            self.model.optimizer.learning_rate = rate
        self.model._resume_from = int(backups[-1][6:-3])  # fit() starts at the epoch after the backup

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save(self._epoch)  # mid-epoch: resuming repeats this epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, completed):
        os.makedirs(self.backup_dir, exist_ok=True)
        old = self._backups()
        self.model.save(os.path.join(self.backup_dir, f"epoch-{completed}.sg"))  # written atomically
        for name in old:
            if name != f"epoch-{completed}.sg":
                os.remove(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for name in self._backups():
                os.remove(os.path.join(self.backup_dir, name))


class TensorBoard(Callback):
    """Write the losses and metrics as TensorBoard event files, as Keras does: `log_dir/train` and
    `log_dir/validation`, scalars named "epoch_loss", "epoch_accuracy", ... (and "batch_<name>" every
    `update_freq` batches when it is a number), "epoch_learning_rate", and with `histogram_freq` a
    histogram of every weight. `tensorboard --logdir log_dir` shows them. Needs tensorboardX
    (pip install 'scratchgrad[tensorboard]')."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a number of batches, got {update_freq!r}")
        self.log_dir, self.histogram_freq = os.fspath(log_dir), histogram_freq
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.writers, self.step = {}, 0

    def _writer(self, kind):
        if kind not in self.writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("TensorBoard needs tensorboardX: pip install tensorboardX "
                                  "(or pip install 'scratchgrad[tensorboard]')") from None
            self.writers[kind] = SummaryWriter(os.path.join(self.log_dir, kind))
        return self.writers[kind]

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.update_freq != "epoch" and self.step % self.update_freq == 0:
            for name, value in (logs or {}).items():
                self._writer("train").add_scalar(f"batch_{name}", value, self.step)

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            kind, name = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self._writer(kind).add_scalar(f"epoch_{name}", value, epoch)
        for name, rate in _learning_rates(self.model.optimizer):
            self._writer("train").add_scalar(f"epoch_{name}", rate, epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            for weight in self.model.weights:
                self._writer("train").add_histogram(weight.name, weight.numpy(), epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
             "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        valid = [name for name in dir(Callback) if name.startswith("on_")]  # any hook, as Keras takes them
        unknown = set(hooks) - set(valid)
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hooks {sorted(unknown)}; valid: {', '.join(valid)}")
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class SwapEMAWeights(Callback):
    """Evaluate and predict (fit's validation too) with the optimizer's moving averages of the weights
    (`use_ema=True`) in the model, and put the trained weights back after, as Keras's SwapEMAWeights.
    `swap_on_epoch=True` also puts the averages in from each epoch's end to the next epoch's start, for
    the callbacks listed after this one (ModelCheckpoint saves the averages)."""

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._averages_in_model = False

    def _swap(self):
        for w, average in self.model.optimizer.moving_averages():
            trained = w.copy()
            w[...] = average
            average[...] = trained
        self._averages_in_model = not self._averages_in_model

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._averages_in_model:
            self._swap()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._averages_in_model:
            self._swap()
            if epoch == self.params.get("epochs", 0) - 1:
                # fit() ends by copying the averages into the weights: they must be the averages again
                for w, average in self.model.optimizer.moving_averages():
                    average[...] = w

    def on_test_begin(self, logs=None):
        if not self._averages_in_model:
            self._swap()

    def on_test_end(self, logs=None):
        if self._averages_in_model:
            self._swap()

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end


def __getattr__(name):
    """LivePlot / PlotHistory live in plot.py; importing it only when asked keeps `import scratchgrad` fast."""
    if name in ("LivePlot", "PlotHistory"):
        from . import plot

        return getattr(plot, name)
    raise AttributeError(f"module 'scratchgrad.callbacks' has no attribute {name!r}")


def _learning_rates(optimizer):
    """(name, rate) to log: the optimizer's learning_rate, or as Keras's TensorBoard logs a MultiOptimizer's,
    learning_rate_<name> for each of its optimizers."""
    inner = getattr(optimizer, "optimizers", None)
    if inner is None:
        return [("learning_rate", optimizer.learning_rate)]
    return [(f"learning_rate_{o.name}", o.learning_rate) for o in inner]
