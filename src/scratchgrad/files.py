"""Writing files so that a reader, even after a crash or a kill mid-write, finds the whole new file or the whole
old one (or none), never a part.

The bytes go to a temporary file beside the target, named ".tmp-" + 8 random characters + the target's name (one
file system, so the rename is atomic; the target's suffix, so writers that pick a format by suffix still do). It
is flushed to disk and renamed over the target. A kill mid-write leaves only that temporary file behind; the next
write of the same target removes it. The file gets the permissions the umask gives, as one `open()` creates.
"""
import contextlib
import os
import secrets
import stat
import string

try:
    import fcntl
except ImportError:  # Windows: there a file a running write holds open cannot be removed, which protects it anyway
    fcntl = None

TEMP_PREFIX = ".tmp-"
_RANDOM = 8  # characters between the prefix and the target's name, as tempfile.mkstemp makes them
_RANDOM_CHARS = frozenset(string.ascii_lowercase + string.digits + "_")


@contextlib.contextmanager
def atomic_write(path, mode="wb", **open_args):
    """An open file (`open(path, mode, **open_args)`) whose content replaces `path` when the block ends; on an
    exception it is dropped and `path` is left as it was."""
    with atomic_path(path) as tmp, open(tmp, mode, **open_args) as f:
        yield f


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path beside `path`, for a writer that takes a path rather than a file: what it wrote there is
    synced and renamed over `path` when the block ends, or removed on an exception."""
    path = os.fspath(path)
    remove_leftovers(path)
    fd, tmp = _create_temp(path)
    try:
        umask_mode = stat.S_IMODE(os.fstat(fd).st_mode)
        yield tmp
        _commit(tmp, path, umask_mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # also releases the lock that kept remove_leftovers off this file


def remove_leftovers(path):
    """Remove the temporary files that writes of `path` left when they were killed (not those still being written)."""
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    for entry in os.scandir(folder):
        if _is_temp_of(entry.name, name):
            _remove_unless_held(entry.path)


def _is_temp_of(candidate, name):
    """Whether `candidate` is a temporary file of `name`, or of one of its temporary files (model.save of a temporary
    path makes its own)."""
    head = len(TEMP_PREFIX) + _RANDOM
    rest = candidate[head:]
    return (candidate.startswith(TEMP_PREFIX) and len(candidate) > head
            and _RANDOM_CHARS.issuperset(candidate[len(TEMP_PREFIX):head]) and (rest == name or _is_temp_of(rest, name)))


def _create_temp(path):
    """(fd, path) of a new empty file beside `path`, locked while it is written. Mode 0o666 less the umask, as
    open() gives: tempfile.mkstemp would make it 0o600, readable by its owner only."""
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, TEMP_PREFIX + secrets.token_hex(_RANDOM // 2) + name)
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:  # one in 4 billion: draw another name
            continue
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd, tmp


def _commit(tmp, path, mode):
    """Make the written file durable, give it the umask's permissions and rename it over `path`."""
    fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))  # the writer may have replaced our file with its own
    try:
        os.fsync(fd)
        if stat.S_IMODE(os.fstat(fd).st_mode) != mode:  # a writer's own temporary file (mkstemp: 0o600)
            os.chmod(tmp, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _sync_folder(os.path.dirname(os.path.abspath(path)))


def _sync_folder(folder):
    """Make the rename itself survive a power cut (POSIX); Windows cannot open a folder and needs no such step."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_unless_held(path):
    """Remove a leftover unless a running write holds its lock. A file that cannot be removed is left: it costs
    space, never a save (temporary names are random)."""
    with contextlib.suppress(OSError):
        if fcntl is None:
            os.unlink(path)
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError while a write holds it
            os.unlink(path)
        finally:
            os.close(fd)
