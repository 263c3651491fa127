#!/usr/bin/env python3
"""Converts a Whisper model in CTranslate2 format (a faster-whisper model folder) to whisper.cpp's ggml file.

Input: the folder's model.bin (the weights) and tokenizer.json (the vocabulary).
Output: the layout whisper.cpp's loader reads (src/whisper.cpp, whisper_model_load), the same as its
models/convert-pt-to-ggml.py writes from OpenAI's PyTorch checkpoint:
  magic "ggml"; 11 int32 hparams; the mel filterbank (n_mels x 201 f32); the vocabulary; the tensors.

CTranslate2's model.bin (binary version 6), little-endian:
  u32 version, str spec name, u32 spec revision, u32 variable count, then per variable:
  str name, u8 rank, u32 dims[rank], u8 dtype, u32 byte count, data;
  then u32 alias count and (str alias, str target) pairs. A str is a u16 length and that many bytes,
  the last a NUL. Rank-0 variables are settings (num_heads, activation, ...), not weights.

The weights are stored (out, in) like PyTorch's and whisper.cpp's, so nothing is transposed.
CTranslate2 fuses attention projections: self-attention's q, k and v are one matrix (rows in that
order), cross-attention's k and v another. They are split by rows; whisper.cpp has no key bias, so the
key rows of the fused biases (all zero) are dropped, and the converter checks they are zero.
whisper.cpp ties the output projection to the token embedding, so the one alias
(decoder/projection -> decoder/embeddings) is not written.

Usage: ct2_whisper_to_ggml.py CT2_MODEL_DIR OUT.bin
"""

import json
import math
import os
import re
import struct
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

GGML_MAGIC = 0x67676D6C
CT2_VERSION = 6
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
SAMPLE_RATE, N_FFT = 16000, 400  # Whisper's front end: 25 ms windows at 16 kHz, 201 frequency bins

# CTranslate2 module (inside encoder/layer_N or decoder/layer_N) -> whisper.cpp module(s), one per block
# of rows when the CTranslate2 matrix is fused.
LAYER_MODULES = {
    "self_attention/layer_norm": ("attn_ln",),
    "self_attention/linear_0": ("attn.query", "attn.key", "attn.value"),
    "self_attention/linear_1": ("attn.out",),
    "attention/layer_norm": ("cross_attn_ln",),
    "attention/linear_0": ("cross_attn.query",),
    "attention/linear_1": ("cross_attn.key", "cross_attn.value"),
    "attention/linear_2": ("cross_attn.out",),
    "ffn/layer_norm": ("mlp_ln",),
    "ffn/linear_0": ("mlp.0",),
    "ffn/linear_1": ("mlp.2",),
}
TOP_MODULES = {
    "encoder/conv1": "encoder.conv1",
    "encoder/conv2": "encoder.conv2",
    "encoder/layer_norm": "encoder.ln_post",
    "decoder/embeddings": "decoder.token_embedding",
    "decoder/layer_norm": "decoder.ln",
}
PARAMS = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


def read_ct2(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The variables (name -> array, read-only views of the file's bytes) and aliases of a model.bin."""
    buf = path.read_bytes()
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return value

    def text() -> str:
        nonlocal pos
        n = take("H")
        pos += n
        return buf[pos - n : pos].rstrip(b"\0").decode()

    version = take("I")
    if version != CT2_VERSION:
        raise ValueError(f"{path}: CTranslate2 binary version {version}, expected {CT2_VERSION}")
    text()  # the spec name, e.g. WhisperSpec
    take("I")  # the spec revision
    variables = {}
    for _ in range(take("I")):
        name = text()
        shape = [take("I") for _ in range(take("B"))]
        dtype = CT2_DTYPES[take("B")]
        nbytes = take("I")
        variables[name] = np.frombuffer(buf, dtype, nbytes // np.dtype(dtype).itemsize, pos).reshape(shape)
        pos += nbytes
    aliases = {text(): text() for _ in range(take("I"))}
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} bytes after the aliases")
    return variables, aliases


def whisper_names(ct2_name: str) -> list[str | None]:
    """whisper.cpp's names for a CTranslate2 weight: one per block of fused rows; None drops the block."""
    module, param = ct2_name.rsplit("/", 1)
    layer = re.fullmatch(r"(encoder|decoder)/layer_(\d+)/(.+)", module)
    if layer:
        side, index, inner = layer.groups()
        targets = [f"{side}.blocks.{index}.{m}" for m in LAYER_MODULES[inner]]
    elif param == "encodings":
        return [module.split("/")[0] + ".positional_embedding"]
    else:
        targets = [TOP_MODULES[module]]
    return [None if param == "bias" and t.endswith(".key") else f"{t}.{PARAMS[param]}" for t in targets]


def convert_tensors(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The CTranslate2 weights under whisper.cpp's names and in the types its loader expects."""
    tensors = {}
    for ct2_name, value in variables.items():
        if value.ndim == 0:
            continue
        try:
            targets = whisper_names(ct2_name)
        except KeyError:
            raise ValueError(f"unknown CTranslate2 variable {ct2_name}") from None
        for name, part in zip(targets, np.split(value, len(targets)), strict=True):
            if name is None:
                if np.any(part):
                    raise ValueError(f"{ct2_name}: the key bias is not zero, and whisper.cpp has none")
                continue
            if name.endswith(("conv1.bias", "conv2.bias")):
                part = part.reshape(-1, 1)
            small = part.ndim < 2 or name.endswith((".bias", "positional_embedding"))
            tensors[name] = part.astype(np.float32 if small else np.float16)
    return tensors


def tensor_order(n_audio_layer: int, n_text_layer: int) -> list[str]:
    """Every tensor whisper.cpp loads (it requires all of them), in the order of OpenAI's PyTorch state dict."""

    def attention(p: str) -> list[str]:
        weights = ["query.weight", "query.bias", "key.weight", "value.weight", "value.bias", "out.weight", "out.bias"]
        return [f"{p}.{w}" for w in weights] + [f"{p}_ln.weight", f"{p}_ln.bias"]

    def block(p: str, cross: bool) -> list[str]:
        mlp = ["mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias", "mlp_ln.weight", "mlp_ln.bias"]
        return attention(f"{p}.attn") + (attention(f"{p}.cross_attn") if cross else []) + [f"{p}.{m}" for m in mlp]

    names = ["encoder.positional_embedding"]
    names += [f"encoder.{conv}.{param}" for conv in ("conv1", "conv2") for param in ("weight", "bias")]
    for i in range(n_audio_layer):
        names += block(f"encoder.blocks.{i}", cross=False)
    names += ["encoder.ln_post.weight", "encoder.ln_post.bias"]
    names += ["decoder.positional_embedding", "decoder.token_embedding.weight"]
    for i in range(n_text_layer):
        names += block(f"decoder.blocks.{i}", cross=True)
    return [*names, "decoder.ln.weight", "decoder.ln.bias"]


def mel_filters(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """The Slaney mel filterbank (n_mels x (1 + n_fft/2), f32): librosa.filters.mel's default, as Whisper uses.

    The Slaney mel scale is linear (200/3 Hz per mel) up to 1 kHz and logarithmic above; each filter is a
    triangle between its neighbours' centres, scaled by 2 / its width so every band has the same area.
    exp and log come from the math module, not numpy, whose vectorised versions vary with the CPU's SIMD
    support: the output's sha256 is pinned, so the filterbank must be the same on every machine.
    """
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(hz: float) -> float:
        return hz / f_sp if hz < min_log_hz else min_log_mel + math.log(hz / min_log_hz) / logstep

    def mel_to_hz(mel: float) -> float:
        return mel * f_sp if mel < min_log_mel else min_log_hz * math.exp(logstep * (mel - min_log_mel))

    top = hz_to_mel(sample_rate / 2)
    edges = np.array([mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)])
    bins = np.arange(1 + n_fft // 2) * (sample_rate / n_fft)
    rising = (bins - edges[:-2, None]) / np.diff(edges)[:-1, None]
    falling = (edges[2:, None] - bins) / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling)) * (2 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def gpt2_byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level BPE spells every byte as one printable character: the printable Latin-1 bytes as
    themselves, the other 68 (controls, space, ...) as U+0100 onwards in byte order. Character -> byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 0x100)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(0x100 + i): b for i, b in enumerate(others)}


def read_vocab(tokenizer_json: Path) -> list[bytes]:
    """The ordinary tokens (ids below the first special token, <|endoftext|>) as raw bytes, in id order.
    whisper.cpp adds the special and timestamp tokens itself."""
    tokenizer = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    n_ordinary = min(t["id"] for t in tokenizer["added_tokens"])
    by_id = {i: token for token, i in tokenizer["model"]["vocab"].items() if i < n_ordinary}
    if sorted(by_id) != list(range(n_ordinary)):
        raise ValueError(f"{tokenizer_json}: the ids of the ordinary tokens are not 0..{n_ordinary - 1}")
    decoder = gpt2_byte_decoder()
    return [bytes(decoder[c] for c in by_id[i]) for i in range(n_ordinary)]


def hparams(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """whisper.cpp's hparams in file order, read off the CTranslate2 shapes and settings."""

    def layers(side: str) -> int:
        return len({m[1] for n in variables if (m := re.match(rf"{side}/layer_(\d+)/", n))})

    n_audio_ctx, n_audio_state = variables["encoder/position_encodings/encodings"].shape
    n_text_ctx, n_text_state = variables["decoder/position_encodings/encodings"].shape
    return {
        "n_vocab": variables["decoder/embeddings/weight"].shape[0],
        "n_audio_ctx": n_audio_ctx,
        "n_audio_state": n_audio_state,
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": layers("encoder"),
        "n_text_ctx": n_text_ctx,
        "n_text_state": n_text_state,
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": layers("decoder"),
        "n_mels": variables["encoder/conv1/weight"].shape[1],
        "ftype": 1,  # the big tensors are f16
    }


def write_ggml(out: BinaryIO, params: dict[str, int], filters: np.ndarray, vocab: list[bytes], tensors: dict) -> None:
    """The ggml file. A tensor's header is rank, name length, type (0 f32, 1 f16), then its dims innermost
    first (numpy's shape reversed), then its name; its data follows."""
    out.write(struct.pack("<12i", GGML_MAGIC, *params.values()))
    out.write(struct.pack("<2i", *filters.shape))
    out.write(filters.astype("<f4").tobytes())
    out.write(struct.pack("<i", len(vocab)))
    for token in vocab:
        out.write(struct.pack("<i", len(token)) + token)
    for name, value in tensors.items():
        encoded = name.encode()
        ftype = 1 if value.dtype == np.float16 else 0
        out.write(struct.pack(f"<3i{value.ndim}i", value.ndim, len(encoded), ftype, *value.shape[::-1]))
        out.write(encoded)
        out.write(value.astype(("<f4", "<f2")[ftype], copy=False).tobytes())


def convert(model_dir: Path, out_path: Path) -> None:
    """Converts model_dir (model.bin, tokenizer.json) to out_path, written atomically."""
    variables, aliases = read_ct2(model_dir / "model.bin")
    if aliases.get("decoder/projection/weight") != "decoder/embeddings/weight":
        raise ValueError("the output projection is not the token embedding, and whisper.cpp ties them")
    params = hparams(variables)
    converted = convert_tensors(variables)
    order = tensor_order(params["n_audio_layer"], params["n_text_layer"])
    if set(converted) != set(order):
        missing, unexpected = sorted(set(order) - set(converted)), sorted(set(converted) - set(order))
        raise ValueError(f"tensors missing: {missing}, unexpected: {unexpected}")
    tensors = {name: converted[name] for name in order}
    vocab = read_vocab(model_dir / "tokenizer.json")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=out_path.name + ".", suffix=".partial")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as out:
            write_ggml(out, params, mel_filters(params["n_mels"]), vocab, tensors)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"wrote {out_path}: {len(tensors)} tensors, {len(vocab)} tokens, {params}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    convert(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
