"""The per-epoch progress line, in Keras's format.

Live (redrawn in place with a carriage return) only when the stream is a terminal or a notebook;
anywhere else (a pipe, a CI log, a file) exactly one plain line per epoch, with no carriage returns,
backspaces or ANSI codes.
"""
import sys
import time

BAR_WIDTH = 20


def is_live(stream):
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


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

    def __init__(self, total, live, stream=None, prefix="", refresh=0.1):
        self.total, self.live, self.prefix = total, live, prefix
        self.stream = stream or sys.stdout
        self.refresh = refresh
        self.start = time.perf_counter()
        self.last_draw = 0.0

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
            self.stream.write("\r" + self._line(step, logs, finished=False))
            self.stream.flush()

    def finish(self, logs):
        line = self._line(self.total, logs, finished=True)
        self.stream.write(("\r" + line + "\x1b[K" if self.live else line) + "\n")
        self.stream.flush()
