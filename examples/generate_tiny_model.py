"""Regenerate examples/tiny-model/model.safetensors (deterministic, a few KB).

The file follows the safetensors layout: an 8-byte little-endian header length, a
JSON header naming each tensor's dtype, shape and byte range, then the raw data.
Run: python examples/generate_tiny_model.py
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

TENSORS = {  # name -> shape, all float32: a 2-layer toy classifier over 32 tokens
    "embeddings.weight": (32, 16),
    "encoder.0.weight": (16, 16),
    "encoder.0.bias": (16,),
    "classifier.weight": (2, 16),
    "classifier.bias": (2,),
}


def build() -> bytes:
    rng = random.Random(20261123)
    header: dict[str, object] = {"__metadata__": {"format": "pt", "model": "tiny-classifier"}}
    blobs = []
    offset = 0
    for name, shape in TENSORS.items():
        count = 1
        for dim in shape:
            count *= dim
        data = struct.pack(f"<{count}f", *(rng.uniform(-0.1, 0.1) for _ in range(count)))
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


if __name__ == "__main__":
    target = Path(__file__).parent / "tiny-model" / "model.safetensors"
    target.write_bytes(build())
    print(f"wrote {target} ({target.stat().st_size} bytes)")
