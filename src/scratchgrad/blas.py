"""Which kernels NumPy's matrix products run on, and whether the CPU could run faster ones.

NumPy multiplies matrices with OpenBLAS, which picks its kernels for the CPU when NumPy is first imported,
unless OPENBLAS_CORETYPE names them. Some machines set OPENBLAS_CORETYPE=Haswell for every program: on a
CPU with AVX-512 that keeps OpenBLAS on its AVX2 kernels, and float32 products run at about half the speed
of the AVX-512 ones it picks by itself (`python benchmarks/run.py` measures both ways when run with and
without the variable). `scratchgrad info` and the benchmarks say so; the variable is read only when NumPy
loads, so it is changed before Python starts: `env -u OPENBLAS_CORETYPE python ...`.
"""
AVX512 = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})  # what SkylakeX's kernels use
AVX512_KERNELS = frozenset({"SkylakeX", "Cooperlake", "SapphireRapids"})


def cpu_flags(cpuinfo):
    """The first processor's flags in Linux's /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def read_cpuinfo(path="/proc/cpuinfo"):
    """Linux's description of the CPU, or "" elsewhere."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


def openblas_kernels():
    """The kernels NumPy's OpenBLAS runs on ("SkylakeX", "Haswell", ...), or None when that cannot be told
    (threadpoolctl, which scikit-learn brings, reads it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    pools = [pool for pool in threadpool_info() if pool.get("internal_api") == "openblas"]
    pools.sort(key=lambda pool: "numpy" not in pool.get("filepath", ""))  # NumPy's own before SciPy's copy
    return pools[0].get("architecture") if pools else None


def unused_avx512(kernels, cpuinfo, environ):
    """A sentence when OpenBLAS runs `kernels` without AVX-512 on a CPU that has it, else None."""
    if kernels is None or kernels in AVX512_KERNELS or not AVX512 <= cpu_flags(cpuinfo):
        return None
    setting = environ.get("OPENBLAS_CORETYPE")
    fix = (f"because OPENBLAS_CORETYPE={setting} is set: `env -u OPENBLAS_CORETYPE` before the command lets "
           "OpenBLAS pick" if setting else "`OPENBLAS_CORETYPE=SkylakeX` before the command selects")
    return f"this CPU has AVX-512 but NumPy's OpenBLAS runs its {kernels} kernels (AVX2), {fix} its AVX-512 ones"
