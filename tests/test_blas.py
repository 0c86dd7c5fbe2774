"""What scratchgrad tells about NumPy's OpenBLAS kernels (scratchgrad/blas.py)."""
import pytest

from scratchgrad import blas

ZEN5 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"
        "flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu\n")
AVX2_ONLY = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx avx2 fma\n"


def test_cpu_flags_are_the_first_processors():
    assert {"avx512f", "avx512_bf16", "fpu"} <= blas.cpu_flags(ZEN5)
    assert "avx2" in blas.cpu_flags(AVX2_ONLY) and "avx512f" not in blas.cpu_flags(AVX2_ONLY)
    assert blas.cpu_flags("") == set()


@pytest.mark.parametrize("kernels, cpuinfo, environ, says", [
    ("Haswell", ZEN5, {"OPENBLAS_CORETYPE": "Haswell"}, "because OPENBLAS_CORETYPE=Haswell is set"),
    ("Haswell", ZEN5, {}, "`OPENBLAS_CORETYPE=SkylakeX` before the command"),
    ("SkylakeX", ZEN5, {}, None),
    ("Cooperlake", ZEN5, {}, None),
    ("Haswell", AVX2_ONLY, {}, None),  # no AVX-512 to use
    (None, ZEN5, {}, None),  # threadpoolctl could not tell
])
def test_the_note_on_unused_avx512(kernels, cpuinfo, environ, says):
    note = blas.unused_avx512(kernels, cpuinfo, environ)
    assert note is None if says is None else (says in note and f"its {kernels} kernels" in note)


def test_openblas_kernels_are_numpys_pool_s(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pools = [{"internal_api": "mkl", "filepath": "/torch/libmkl.so"},
             {"internal_api": "openblas", "filepath": "/scipy.libs/libscipy_openblas.so", "architecture": "Zen"},
             {"internal_api": "openblas", "filepath": "/numpy.libs/libscipy_openblas64_.so",
              "architecture": "SkylakeX"}]
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: pools)
    assert blas.openblas_kernels() == "SkylakeX"
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: pools[:1])
    assert blas.openblas_kernels() is None


def test_read_cpuinfo_is_empty_where_there_is_none(tmp_path):
    assert blas.read_cpuinfo(tmp_path / "absent") == ""
