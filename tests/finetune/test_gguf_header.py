"""The GGUF header reader against gguf's own reader, and on broken files."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from corpus.errors import UserError
from finetune.gguf_header import read_header


def _write(path, arrays: bool = True) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_uint32("llama.block_count", 3)
    w.add_int32("test.i32", -7)
    w.add_float32("test.f32", 0.25)
    w.add_float64("test.f64", 1e-9)
    w.add_bool("test.bool", True)
    w.add_uint64("test.u64", 2**40)
    w.add_int8("test.i8", -3)
    w.add_uint16("test.u16", 65535)
    w.add_string("test.name", "tiny model, ünïcode")
    if arrays:  # skipped by the reader, and what made gguf's own reader slow
        w.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(1000)])
        w.add_array("tokenizer.ggml.scores", [float(i) for i in range(50)])
        w.add_array("tokenizer.ggml.token_type", list(range(7)))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((4, 6), dtype=np.float32))
    w.add_tensor("token_embd.weight", np.ones((10, 4), dtype=np.float16))
    w.add_tensor("output_norm.weight", np.ones(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_same_scalars_and_shapes_as_gguf_reader(tmp_path):
    path = tmp_path / "m.gguf"
    _write(path)
    header = read_header(path)
    reader = gguf.GGUFReader(str(path))
    scalars = {
        name: field.contents()
        for name, field in reader.fields.items()
        if not name.startswith("GGUF.") and field.types[0] != gguf.GGUFValueType.ARRAY
    }
    assert header.fields.keys() == scalars.keys()
    for name, value in scalars.items():
        assert header.fields[name] == pytest.approx(value), name
    assert "tokenizer.ggml.tokens" not in header.fields
    assert header.shapes == {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}
    assert header.shapes["blk.0.attn_q.weight"] == (6, 4)  # GGUF order: inputs first
    assert header.fields["test.name"] == "tiny model, ünïcode"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"GGML" + b[4:], "not a GGUF file"),
        (lambda b: b[:200], "ends early"),
        (lambda b: b[:4] + (7).to_bytes(4, "little") + b[8:], "version 7 is not supported"),
        (lambda b: b[:2], "not a GGUF file"),
    ],
)
def test_broken_files_name_the_file(tmp_path, damage, message):
    path = tmp_path / "m.gguf"
    _write(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UserError, match=f"m.gguf: .*{message}"):
        read_header(path)


def test_a_model_file_without_architecture_is_one_line(tmp_path):
    from finetune.gguf_export import AdapterExportError, gguf_facts

    path = tmp_path / "m.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.kv_data[0].pop("general.architecture")  # a file written without it
    w.add_tensor("output_norm.weight", np.ones(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(AdapterExportError, match=r"m\.gguf: no general\.architecture"):
        gguf_facts(path)
