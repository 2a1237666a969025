"""The value domain at liqspec.fast's entry points (LIQ-DOMAIN-1, LIQ-DOMAIN-3).

Every array and integer a caller hands to ``liqspec.fast`` (the batch kernels, ``cascade_arrays``,
``MarketTables``, the packers) passes through this module, once, and gets the reference's typed
errors (the checks that need a ``MarketTables`` build on these in :mod:`liqspec.fast.pack`): a
float, bool, complex, string or non-integer object is ``NotAnInteger``; an integer outside the
signed 64-bit domain (a uint64 of 2^63 or more, a Python int of 2^63) is ``Overflow`` naming its
place; an array of the wrong shape, or arrays that disagree on the number of accounts or markets,
is ``MalformedState``. Nothing is wrapped, truncated or rounded.

An int64 array in native byte order that already has the wanted shape and layout is returned as
it is, never copied; any other integer array is converted exactly (a copy), after its range is
checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from liqspec.reference.arithmetic import INT64_MAX, INT64_MIN, checked
from liqspec.reference.errors import MalformedState, NotAnInteger, Overflow

_INT64 = np.dtype(np.int64)


def int64_scalar(value: Any, what: str) -> int:
    """``value`` as a Python int in int64: a Python or numpy integer (never a bool), else
    ``NotAnInteger``; outside int64, ``Overflow`` (the reference's ``checked``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise NotAnInteger(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    return checked(int(value), what)


def _place(index: tuple[int | np.integer, ...]) -> str:
    return "entry " + ", ".join(map(str, index)) if len(index) > 1 else f"entry {index[0]}"


def _exact_int64(array: np.ndarray, what: str) -> np.ndarray:
    """An integer or object array as int64, its range checked first (a copy)."""
    kind = array.dtype.kind
    if kind == "u" and array.dtype.itemsize == 8 and array.size:
        above = array > INT64_MAX
        if above.any():
            at = np.unravel_index(int(np.argmax(above)), array.shape)
            raise Overflow(f"{what} {_place(at)} = {int(array[at])} is outside the signed 64-bit "
                           f"domain")
    if kind in "iu":
        return array.astype(np.int64)
    if kind == "O":
        out = np.empty(array.shape, dtype=np.int64)
        for at, item in np.ndenumerate(array):
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
                raise NotAnInteger(f"{what} {_place(at)} must be an integer, got "
                                   f"{type(item).__name__} {item!r}")
            if not INT64_MIN <= int(item) <= INT64_MAX:
                raise Overflow(f"{what} {_place(at)} = {int(item)} is outside the signed 64-bit "
                               f"domain")
            out[at] = int(item)
        return out
    raise NotAnInteger(f"{what} must be an array of integers (int64), got dtype {array.dtype}")


def _as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:  # a ragged nesting, say
        raise MalformedState(f"{what} is not an array: {error}") from None


def int64_array(value: Any, what: str, shape: tuple[int | None, ...],
                contiguous: bool = True) -> np.ndarray:
    """``value`` as an int64 array of ``shape`` (``None``: any length on that axis), C-contiguous
    unless ``contiguous`` is False. Returned as is (no copy) when it already is one."""
    array = _as_array(value, what)
    if array.dtype != _INT64:
        array = _exact_int64(array, what)
    if array.ndim != len(shape) or any(want is not None and got != want
                                       for got, want in zip(array.shape, shape)):
        wanted = " x ".join("any" if n is None else str(n) for n in shape) or "a scalar"
        raise MalformedState(f"{what} must have shape {wanted}, got "
                             f"{' x '.join(map(str, array.shape)) or 'a scalar'}")
    if contiguous and not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return array


def flag_array(value: Any, what: str, length: int) -> np.ndarray:
    """A mask of ``length`` flags as uint8: a bool array, or integers that are each 0 or 1."""
    array = _as_array(value, what)
    if array.dtype != np.bool_:
        array = int64_array(array, what, (length,), contiguous=False)
        if array.size and not ((array == 0) | (array == 1)).all():
            raise MalformedState(f"{what} must hold only 0 and 1 (or True and False)")
    elif array.shape != (length,):
        raise MalformedState(f"{what} must have shape {length}, got "
                             f"{' x '.join(map(str, array.shape)) or 'a scalar'}")
    return np.ascontiguousarray(array, dtype=np.uint8)


def health_outputs(out: Any, rows: int, inputs: tuple[np.ndarray, ...]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``out=`` of :func:`~liqspec.fast.health`: exactly three writable C-contiguous arrays,
    int64[N], int64[N] and bool[N], sharing no memory with each other or with the inputs (a
    kernel writing into its own input would read what it wrote). Anything else is
    ``MalformedState``, before anything is written."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise MalformedState("out must be three arrays (equity, maintenance, liquidatable)")
    arrays = []
    for array, what, dtype in zip(out, ("equity", "maintenance", "liquidatable"),
                                  (_INT64, _INT64, np.dtype(np.bool_)), strict=True):
        if not isinstance(array, np.ndarray):
            raise MalformedState(f"out {what} is not a numpy array: {type(array).__name__}")
        if array.dtype != dtype or array.shape != (rows,):
            raise MalformedState(f"out {what} must be {dtype}[{rows}], got "
                                 f"{array.dtype}{list(array.shape)}")
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise MalformedState(f"out {what} must be C-contiguous and writable")
        arrays.append(array)
    for i, array in enumerate(arrays):
        for other in arrays[i + 1:] + list(inputs):
            if np.shares_memory(array, other):
                raise MalformedState("out arrays must not overlap each other or the inputs")
    return arrays[0], arrays[1], arrays[2]
