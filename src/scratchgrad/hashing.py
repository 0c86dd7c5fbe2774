"""The string hashes Keras's Hashing, HashedCrossing and lookup layers bucket values with, in plain Python,
giving TensorFlow's numbers: FarmHash's Fingerprint64 (tf.strings.to_hash_bucket_fast), SipHash-2-4 with
a 128-bit key (tf.strings.to_hash_bucket_strong) and crosses of several values (tf.sparse.cross_hashed).
Strings are read as their UTF-8 bytes. A bucket is the hash modulo the number of buckets, the hash read
as an unsigned 64-bit integer."""
import struct

MASK = (1 << 64) - 1
K0, K1, K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F  # FarmHash's primes


def hash_bucket(text, num_buckets, key=None):
    """The bucket of `text` (str or bytes): Fingerprint64, or SipHash-2-4 keyed by `key` (two ints)."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return (fingerprint64(data) if key is None else siphash24(data, *key)) % num_buckets


CROSS_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default key


def cross_bucket(values, num_buckets, key=CROSS_KEY):
    """The bucket of a cross of `values` (str, bytes or int), as tf.sparse.cross_hashed computes it: from
    `key`, each value folded in by fingerprint_cat64, a string by its Fingerprint64, an integer by its
    own 64 bits."""
    crossed = key
    for value in values:
        if isinstance(value, (str, bytes)):
            part = fingerprint64(value.encode("utf-8") if isinstance(value, str) else value)
        else:
            part = int(value) & MASK
        crossed = fingerprint_cat64(crossed, part)
    return crossed % num_buckets


def fingerprint_cat64(first, second):
    """TensorFlow's FingerprintCat64: two fingerprints combined into one."""
    mul = 0xC6A4A7935BD1E995
    out = first ^ mul
    out ^= (_shift_mix((second * mul) & MASK) * mul) & MASK
    out = (_shift_mix((out * mul) & MASK) * mul) & MASK
    return _shift_mix(out)


# ---- FarmHash Fingerprint64 (farmhashna::Hash64) ------------------------------------------------
def _fetch64(data, i):
    return int.from_bytes(data[i:i + 8], "little")


def _fetch32(data, i):
    return int.from_bytes(data[i:i + 4], "little")


def _rotate(value, shift):
    return ((value >> shift) | (value << (64 - shift))) & MASK if shift else value


def _shift_mix(value):
    return value ^ (value >> 47)


def _hash16(u, v, mul):
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _hash_0_to_16(data):
    n = len(data)
    mul = K2 + n * 2
    if n >= 8:
        a, b = (_fetch64(data, 0) + K2) & MASK, _fetch64(data, n - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash16(c, d, mul)
    if n >= 4:
        return _hash16(n + (_fetch32(data, 0) << 3), _fetch32(data, n - 4), mul)
    if n:
        y = (data[0] + (data[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (data[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix((y * K2 ^ z * K0) & MASK) * K2) & MASK
    return K2


def _hash_17_to_32(data):
    n = len(data)
    mul = K2 + n * 2
    a, b = (_fetch64(data, 0) * K1) & MASK, _fetch64(data, 8)
    c, d = (_fetch64(data, n - 8) * mul) & MASK, (_fetch64(data, n - 16) * K2) & MASK
    return _hash16((_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
                   (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)


def _hash_33_to_64(data):
    n = len(data)
    mul = K2 + n * 2
    a, b = (_fetch64(data, 0) * K2) & MASK, _fetch64(data, 8)
    c, d = (_fetch64(data, n - 8) * mul) & MASK, (_fetch64(data, n - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e, f = (_fetch64(data, 16) * mul) & MASK, _fetch64(data, 24)
    g = ((y + _fetch64(data, n - 32)) * mul) & MASK
    h = ((z + _fetch64(data, n - 24)) * mul) & MASK
    return _hash16((_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
                   (e + _rotate((f + a) & MASK, 18) + g) & MASK, mul)


def _weak_hash32(data, i, a, b):
    w, x, y, z = (_fetch64(data, i + k) for k in (0, 8, 16, 24))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def fingerprint64(data):
    """FarmHash's Fingerprint64 of `data` (bytes): short inputs by length class, longer ones 64 bytes
    at a time through a 56-byte state, the last 64 bytes mixed with a length-dependent multiplier."""
    n = len(data)
    if n <= 16:
        return _hash_0_to_16(data)
    if n <= 32:
        return _hash_17_to_32(data)
    if n <= 64:
        return _hash_33_to_64(data)
    seed = 81
    x, y = seed, (seed * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v, w = (0, 0), (0, 0)
    x = (x * K2 + _fetch64(data, 0)) & MASK
    end, last64 = ((n - 1) // 64) * 64, n - 64
    for i in range(0, end, 64):
        x, y, z, v, w = _mix64(data, i, x, y, z, v, w, K1, 1)
    mul = K1 + ((z & 0xFF) << 1)
    w = ((w[0] + ((n - 1) & 63)) & MASK, w[1])
    v = ((v[0] + w[0]) & MASK, v[1])
    w = ((w[0] + v[0]) & MASK, w[1])
    x, y, z, v, w = _mix64(data, last64, x, y, z, v, w, mul, 9)
    return _hash16((_hash16(v[0], w[0], mul) + _shift_mix(y) * K0 + z) & MASK,
                   (_hash16(v[1], w[1], mul) + x) & MASK, mul)


def _mix64(data, i, x, y, z, v, w, mul, weight):
    """One 64-byte round of Fingerprint64 (`weight` is 9 in the last round, 1 before it)."""
    x = (_rotate((x + y + v[0] + _fetch64(data, i + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v[1] + _fetch64(data, i + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * weight) & MASK
    y = (y + v[0] * weight + _fetch64(data, i + 40)) & MASK
    z = (_rotate((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak_hash32(data, i, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak_hash32(data, i + 32, (z + w[1]) & MASK, (y + _fetch64(data, i + 16)) & MASK)
    return z, y, x, v, w  # x and z trade places after each round


# ---- SipHash-2-4 ------------------------------------------------------------------------------
def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & MASK
    v1 = _rotate(v1, 64 - 13) ^ v0  # rotate left by 13
    v0 = _rotate(v0, 32)
    v2 = (v2 + v3) & MASK
    v3 = _rotate(v3, 64 - 16) ^ v2
    v0 = (v0 + v3) & MASK
    v3 = _rotate(v3, 64 - 21) ^ v0
    v2 = (v2 + v1) & MASK
    v1 = _rotate(v1, 64 - 17) ^ v2
    v2 = _rotate(v2, 32)
    return v0, v1, v2, v3


def siphash24(data, key0, key1):
    """SipHash-2-4 of `data` (bytes) under the key (key0, key1), two unsigned 64-bit words."""
    key0, key1 = key0 & MASK, key1 & MASK
    v = [key0 ^ 0x736F6D6570736575, key1 ^ 0x646F72616E646F6D, key0 ^ 0x6C7967656E657261, key1 ^ 0x7465646279746573]
    tail = len(data) % 8
    words = list(struct.unpack(f"<{len(data) // 8}Q", data[:len(data) - tail]))
    words.append(((len(data) & 0xFF) << 56) | int.from_bytes(data[len(data) - tail:], "little"))
    for m in words:
        v[3] ^= m
        for _ in range(2):
            v = list(_sip_round(*v))
        v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        v = list(_sip_round(*v))
    return v[0] ^ v[1] ^ v[2] ^ v[3]
