"""The per-epoch progress line, in Keras's format.

Live on a terminal (redrawn in place with a carriage return) and in a Jupyter notebook (one display per
epoch, updated in place, so a saved notebook keeps one line per epoch and no control characters);
anywhere else (a pipe, a CI log, a file) exactly one plain line per epoch, with no carriage returns,
backspaces or ANSI codes.
"""
import sys
import time

BAR_WIDTH = 20


_interactive = {"on": True}  # keras.config.disable_interactive_logging() turns the live bar off


def enable_interactive_logging():
    _interactive["on"] = True


def disable_interactive_logging():
    """Logs as plain lines (one per epoch), not a bar redrawn in place: for jobs whose output goes to a file."""
    _interactive["on"] = False


def is_interactive_logging_enabled():
    return _interactive["on"]


def is_live(stream):
    if not _interactive["on"]:
        return False
    if in_notebook(stream):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def in_notebook(stream):
    """Inside a Jupyter kernel, writing to the cell's output."""
    return "ipykernel" in sys.modules and stream is sys.stdout


class _NotebookLine:
    """One output of a notebook cell, replaced at each update (an IPython display handle)."""

    def __init__(self):
        from IPython.display import display

        self.handle = display({"text/plain": ""}, raw=True, display_id=True)

    def show(self, text):
        self.handle.update({"text/plain": text}, raw=True)


def format_duration(seconds):
    if seconds >= 3600:
        return f"{seconds // 3600:.0f}:{seconds % 3600 // 60:02.0f}:{seconds % 60:02.0f}"
    if seconds >= 60:
        return f"{seconds // 60:.0f}:{seconds % 60:02.0f}"
    return f"{seconds:.0f}s"


def format_per_step(seconds):
    return f"{seconds:.0f}s/step" if seconds >= 1 else f"{seconds * 1e3:.0f}ms/step" if seconds >= 1e-3 \
        else f"{seconds * 1e6:.0f}us/step"


def format_logs(logs):
    return "".join(f" - {k}: {v:.4f}" for k, v in sorted(logs.items()) if isinstance(v, float))


class ProgressBar:
    """One epoch's progress: `update(step, logs)` after each batch, `finish(logs)` at the end."""

    def __init__(self, total, live, stream=None, prefix="", refresh=0.1, header=None):
        self.total, self.live, self.prefix, self.header = total, live, prefix, header
        self.stream = stream or sys.stdout
        self.notebook = _NotebookLine() if live and in_notebook(self.stream) else None
        self.refresh = max(refresh, 0.5) if self.notebook else refresh  # each update is a message to the browser
        self.start = time.perf_counter()
        self.last_draw = 0.0
        if self.header and not self.notebook:
            self.stream.write(self.header + "\n")

    def _bar(self, step):
        filled = BAR_WIDTH * step // max(self.total, 1)
        return "━" * filled + " " * (BAR_WIDTH - filled) if self.live else ""

    def _line(self, step, logs, finished):
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(step, 1)
        seconds = elapsed if finished else per_step * (self.total - step)
        width = len(str(self.total))
        bar = self._bar(step)
        head = f"{step:>{width}}/{self.total} " + (f"{bar} " if bar else "")
        return f"{self.prefix}{head}{format_duration(seconds)} {format_per_step(per_step)}{format_logs(logs)}"

    def update(self, step, logs):
        now = time.perf_counter()
        if self.live and now - self.last_draw >= self.refresh:
            self.last_draw = now
            self._draw(self._line(step, logs, finished=False))

    def finish(self, logs):
        line = self._line(self.total, logs, finished=True)
        if self.notebook:
            self._draw(line)
        else:
            self.stream.write(("\r" + line + "\x1b[K" if self.live else line) + "\n")
            self.stream.flush()

    def _draw(self, line):
        if self.notebook:
            self.notebook.show(line if self.header is None else f"{self.header}\n{line}")
        else:
            self.stream.write("\r" + line)
            self.stream.flush()
