"""Decoding of Rerun rows (message encoding ``rerun-arrow``, see :mod:`roboflow.sources.rrd`).

A payload is a one-row Arrow IPC stream; the result is a dict from component column name
(``"Archetype:component"``) to its value for that row:

* numeric batches become numpy arrays (``Scalars:scalars`` -> ``array([0.5])``, fixed-size lists
  such as ``Transform3D:translation`` -> shape ``(n, 3)``);
* a single blob (``Image:buffer``, ``Asset3D:blob``) becomes its uint8 numpy array, zero-copy;
* ``Tensor:data`` and ``BarChart:values`` become the tensor as a numpy array of its shape and dtype;
* anything else (structs, strings) becomes Python values (``Image:format`` -> a dict), unwrapped
  when the batch holds one element.

The entity's static components (the channel's schema data, in the same encoding) hold for every row: a row
has them unless it logs its own (a ``VideoStream`` row gets its stream's static ``VideoStream:codec``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from roboflow.errors import SourceError
from roboflow.sources.base import Channel

__all__ = ["arrow_decoder"]

#: Components holding a TensorData (shape + typed buffer).
_TENSORS = frozenset({"Tensor:data", "BarChart:values"})


def arrow_decoder(channel: Channel) -> Callable[[bytes | memoryview], object]:
    """A decoder returning ``{component: value}`` for one Rerun row."""

    def row(data: bytes | memoryview) -> dict[str, object]:
        try:
            batch = pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()
        except (pa.ArrowInvalid, StopIteration) as err:
            raise SourceError(f"cannot decode a Rerun row on {channel.topic}: {err}",
                              hint="the payload is not a roboflow Rerun row") from err
        return {name: _value(name, batch.column(index)[0]) for index, name in enumerate(batch.schema.names)}

    static = row(channel.schema.data) if channel.schema is not None and channel.schema.data else {}

    def decoder(data: bytes | memoryview) -> object:
        return {**static, **row(data)}

    return decoder


def _value(name: str, cell: pa.Scalar) -> object:
    if not cell.is_valid:
        return None
    values: pa.Array = cell.values
    kind = values.type
    if name in _TENSORS and len(values) == 1:
        return _tensor(values)
    if _numeric(kind):
        return values.to_numpy(zero_copy_only=False)
    if pa.types.is_fixed_size_list(kind) and _numeric(kind.value_type):
        return values.flatten().to_numpy(zero_copy_only=False).reshape(len(values), kind.list_size)
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and _numeric(kind.value_type):
        arrays = [values[i].values.to_numpy(zero_copy_only=False) for i in range(len(values))]
        return arrays[0] if len(arrays) == 1 else arrays
    items = values.to_pylist()
    return items[0] if len(items) == 1 else items


def _numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind))


def _tensor(values: pa.Array) -> np.ndarray:
    tensor = values[0]
    shape = [int(size) for size in tensor["shape"].as_py()]
    buffer = tensor["buffer"].value  # the union's active list
    flat: np.ndarray = buffer.values.to_numpy(zero_copy_only=False)
    return flat.reshape(shape)
