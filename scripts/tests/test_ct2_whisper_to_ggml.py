"""Tests of scripts/lib/ct2_whisper_to_ggml.py.

- A tiny synthetic CTranslate2 Whisper model (1 encoder and 1 decoder layer, width 8), written here, is
  converted and the ggml file read back: header, vocabulary, tensor names, shapes, types, fused splits.
- The mel filterbank the converter writes is compared with faster-whisper's own implementation.
- End to end: scripts/whisper-base-model makes the real base model and whisper-cli transcribes
  samples/ielts-part1-sample.ogg with it; the words must match the turns
  samples/make-sample.sh speaks (samples/ielts-part1-sample.txt).
  Without whisper-cli or ffmpeg that test is skipped, except under CI (CI=true), where it fails.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts" / "lib"))
import ct2_whisper_to_ggml as converter  # noqa: E402

STATE, HEADS, N_MELS, AUDIO_CTX, TEXT_CTX = 8, 2, 80, 6, 4
# Ordinary tokens in GPT-2's byte-to-unicode spelling ("Ġ" is a space, "Ã©" the UTF-8 bytes of "é"), an
# empty one as at id 50256 of the real vocabulary, then the first special token.
TOKENS = {"!": 0, "Ġthe": 1, "Ã©": 2, "": 3, "<|endoftext|>": 4}
CT2_DTYPE_IDS = {np.dtype(np.float16): 4, np.dtype(np.int16): 2, np.dtype(np.int8): 1}


def write_ct2(path: Path, variables: dict[str, np.ndarray], aliases: dict[str, str]) -> None:
    """A CTranslate2 model.bin (binary version 6), written independently of the converter's reader."""

    def text(s: str) -> bytes:
        data = s.encode() + b"\0"
        return struct.pack("<H", len(data)) + data

    parts = [struct.pack("<I", 6), text("WhisperSpec"), struct.pack("<II", 3, len(variables))]
    for name, value in variables.items():
        data = value.tobytes()
        header = struct.pack(f"<B{value.ndim}IBI", value.ndim, *value.shape, CT2_DTYPE_IDS[value.dtype], len(data))
        parts += [text(name), header, data]
    parts.append(struct.pack("<I", len(aliases)))
    parts += [text(alias) + text(target) for alias, target in aliases.items()]
    path.write_bytes(b"".join(parts))


def tiny_variables(seed: int = 0) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 WhisperSpec with one layer per side, random f16 weights, zero key
    biases (as Whisper has none), and rank-0 settings the converter must skip."""
    rng = np.random.default_rng(seed)

    def linear(name: str, rows: int, cols: int = STATE) -> dict[str, np.ndarray]:
        return {f"{name}/weight": rng.standard_normal((rows, cols)), f"{name}/bias": rng.standard_normal(rows)}

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}/gamma": rng.standard_normal(STATE), f"{name}/beta": rng.standard_normal(STATE)}

    def ffn(prefix: str) -> dict[str, np.ndarray]:
        return {
            **norm(f"{prefix}/ffn/layer_norm"),
            **linear(f"{prefix}/ffn/linear_0", 4 * STATE),
            **linear(f"{prefix}/ffn/linear_1", STATE, 4 * STATE),
        }

    def self_attention(prefix: str) -> dict[str, np.ndarray]:
        return {
            **norm(f"{prefix}/self_attention/layer_norm"),
            **linear(f"{prefix}/self_attention/linear_0", 3 * STATE),
            **linear(f"{prefix}/self_attention/linear_1", STATE),
        }

    v = {
        "encoder/conv1/weight": rng.standard_normal((STATE, N_MELS, 3)),
        "encoder/conv1/bias": rng.standard_normal(STATE),
        "encoder/conv2/weight": rng.standard_normal((STATE, STATE, 3)),
        "encoder/conv2/bias": rng.standard_normal(STATE),
        "encoder/position_encodings/encodings": rng.standard_normal((AUDIO_CTX, STATE)),
        **norm("encoder/layer_norm"),
        **self_attention("encoder/layer_0"),
        **ffn("encoder/layer_0"),
        "decoder/embeddings/weight": rng.standard_normal((len(TOKENS), STATE)),
        "decoder/position_encodings/encodings": rng.standard_normal((TEXT_CTX, STATE)),
        **norm("decoder/layer_norm"),
        **self_attention("decoder/layer_0"),
        **norm("decoder/layer_0/attention/layer_norm"),
        **linear("decoder/layer_0/attention/linear_0", STATE),
        **linear("decoder/layer_0/attention/linear_1", 2 * STATE),
        **linear("decoder/layer_0/attention/linear_2", STATE),
        **ffn("decoder/layer_0"),
    }
    v = {name: value.astype(np.float16) for name, value in v.items()}
    v["encoder/layer_0/self_attention/linear_0/bias"][STATE : 2 * STATE] = 0
    v["decoder/layer_0/self_attention/linear_0/bias"][STATE : 2 * STATE] = 0
    v["decoder/layer_0/attention/linear_1/bias"][:STATE] = 0
    v |= {
        "encoder/num_heads": np.array(HEADS, np.int16),
        "decoder/num_heads": np.array(HEADS, np.int16),
        "decoder/activation": np.array(3, np.int8),
    }
    return v


def write_model_dir(folder: Path, variables: dict[str, np.ndarray]) -> Path:
    folder.mkdir()
    write_ct2(folder / "model.bin", variables, {"decoder/projection/weight": "decoder/embeddings/weight"})
    added = [{"id": 4, "content": "<|endoftext|>", "special": True}]
    (folder / "tokenizer.json").write_text(json.dumps({"added_tokens": added, "model": {"vocab": TOKENS}}))
    return folder


def read_ggml(path: Path) -> dict:
    """A whisper.cpp ggml file, parsed the way whisper_model_load reads it."""
    buf = path.read_bytes()
    pos = 0

    def ints(n: int) -> tuple[int, ...]:
        nonlocal pos
        pos += 4 * n
        return struct.unpack_from(f"<{n}i", buf, pos - 4 * n)

    def raw(n: int) -> bytes:
        nonlocal pos
        pos += n
        return buf[pos - n : pos]

    magic, *hparams = ints(12)
    n_mel, n_fft = ints(2)
    filters = np.frombuffer(raw(4 * n_mel * n_fft), "<f4").reshape(n_mel, n_fft)
    vocab = [raw(ints(1)[0]) for _ in range(ints(1)[0])]
    tensors = {}
    while pos < len(buf):
        n_dims, name_len, ftype = ints(3)
        shape = ints(n_dims)[::-1]
        name = raw(name_len).decode()
        dtype = np.dtype({0: "<f4", 1: "<f2"}[ftype])
        tensors[name] = np.frombuffer(raw(int(np.prod(shape)) * dtype.itemsize), dtype).reshape(shape)
    return {"magic": magic, "hparams": hparams, "filters": filters, "vocab": vocab, "tensors": tensors}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[dict[str, np.ndarray], dict]:
    """The synthetic CTranslate2 variables and the ggml file the converter's main() made of them."""
    tmp = tmp_path_factory.mktemp("tiny")
    variables = tiny_variables()
    out = tmp / "out" / "ggml-tiny.bin"
    assert converter.main([str(write_model_dir(tmp / "ct2", variables)), str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == [out.name], "the temporary file was left behind"
    return variables, read_ggml(out)


def test_header_and_vocabulary(tiny):
    _, ggml = tiny
    assert ggml["magic"] == 0x67676D6C
    # n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
    # n_text_head, n_text_layer, n_mels, ftype
    assert ggml["hparams"] == [len(TOKENS), AUDIO_CTX, STATE, HEADS, 1, TEXT_CTX, STATE, HEADS, 1, N_MELS, 1]
    assert ggml["filters"].shape == (N_MELS, 201)
    assert ggml["vocab"] == [b"!", b" the", "é".encode(), b""]


def test_tensor_names_shapes_and_types(tiny):
    _, ggml = tiny
    tensors = ggml["tensors"]
    assert list(tensors) == converter.tensor_order(1, 1)
    assert len(tensors) == 22 + 28  # encoder: 5 + 15 per layer + 2; decoder: 2 + 24 per layer + 2
    assert not any(name.endswith("key.bias") for name in tensors), "whisper.cpp has no key bias"
    assert tensors["encoder.conv1.weight"].shape == (STATE, N_MELS, 3)
    assert tensors["encoder.conv1.bias"].shape == (STATE, 1)
    assert tensors["decoder.token_embedding.weight"].shape == (len(TOKENS), STATE)
    assert tensors["encoder.blocks.0.mlp.0.weight"].shape == (4 * STATE, STATE)
    assert tensors["decoder.blocks.0.mlp.2.weight"].shape == (STATE, 4 * STATE)
    f32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}
    for name, value in tensors.items():
        want = np.float32 if value.ndim == 1 or name in f32 else np.float16
        assert value.dtype == want, name


def test_fused_attention_is_split_by_rows(tiny):
    variables, ggml = tiny
    tensors = ggml["tensors"]
    for side in ("encoder", "decoder"):
        weight = variables[f"{side}/layer_0/self_attention/linear_0/weight"]
        bias = variables[f"{side}/layer_0/self_attention/linear_0/bias"]
        attn = f"{side}.blocks.0.attn"
        np.testing.assert_array_equal(tensors[f"{attn}.query.weight"], weight[:STATE])
        np.testing.assert_array_equal(tensors[f"{attn}.key.weight"], weight[STATE : 2 * STATE])
        np.testing.assert_array_equal(tensors[f"{attn}.value.weight"], weight[2 * STATE :])
        np.testing.assert_array_equal(tensors[f"{attn}.query.bias"], bias[:STATE])
        np.testing.assert_array_equal(tensors[f"{attn}.value.bias"], bias[2 * STATE :])
    cross = "decoder.blocks.0.cross_attn"
    kv = variables["decoder/layer_0/attention/linear_1/weight"]
    kv_bias = variables["decoder/layer_0/attention/linear_1/bias"]
    np.testing.assert_array_equal(tensors[f"{cross}.key.weight"], kv[:STATE])
    np.testing.assert_array_equal(tensors[f"{cross}.value.weight"], kv[STATE:])
    np.testing.assert_array_equal(tensors[f"{cross}.value.bias"], kv_bias[STATE:])
    unfused = {
        f"{cross}.query.weight": "decoder/layer_0/attention/linear_0/weight",
        f"{cross}.out.weight": "decoder/layer_0/attention/linear_2/weight",
        "encoder.ln_post.weight": "encoder/layer_norm/gamma",
        "decoder.blocks.0.mlp_ln.bias": "decoder/layer_0/ffn/layer_norm/beta",
    }
    for name, ct2_name in unfused.items():
        np.testing.assert_array_equal(tensors[name], variables[ct2_name])


def test_a_nonzero_key_bias_is_refused(tmp_path):
    variables = tiny_variables()
    variables["encoder/layer_0/self_attention/linear_0/bias"][STATE] = 1
    model_dir = write_model_dir(tmp_path / "ct2", variables)
    with pytest.raises(ValueError, match="key bias"):
        converter.convert(model_dir, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()


def test_mel_filters_match_faster_whisper(tiny):
    from faster_whisper.feature_extractor import FeatureExtractor

    reference = FeatureExtractor(feature_size=N_MELS).mel_filters  # 16 kHz, n_fft 400: Whisper's front end
    written = tiny[1]["filters"]
    assert written.shape == reference.shape == (N_MELS, 201)
    np.testing.assert_allclose(written, reference, rtol=1e-6, atol=1e-12)


# --- end to end --------------------------------------------------------------------------------


def required_tool(found: str | None, missing: str) -> str:
    """found, or a failure under CI (a CI run must not pass without the end-to-end test), else a skip."""
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(missing)
    pytest.skip(missing)


def find_whisper_cli() -> str:
    """WHISPER_CLI, else whisper-cli on PATH, else the tools cache that scripts/build-whisper fills."""
    configured = os.environ.get("WHISPER_CLI")
    if configured:
        usable = configured if os.access(configured, os.X_OK) else None
        return required_tool(usable, f"whisper-cli not found: WHISPER_CLI={configured} is not an executable file")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tools = Path(os.environ.get("PRONIELTS_TOOLS") or cache / "pronielts" / "tools")
    built = sorted(tools.glob("whisper.cpp-*-cpu/bin/whisper-cli"))
    return required_tool(
        shutil.which("whisper-cli") or (str(built[-1]) if built else None),
        f"whisper-cli not found (WHISPER_CLI unset, not on PATH, not in {tools}): "
        "build it with scripts/build-whisper or set WHISPER_CLI",
    )


def words(text: str) -> list[str]:
    """Lowercase words without accents or punctuation (apostrophes inside words kept)."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)*", text)


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Word-level Levenshtein distance (substitutions + deletions + insertions) over the reference length."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ref != hyp))
    return row[-1] / len(reference)


def test_word_error_rate():
    assert word_error_rate(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]) == 0.5
    assert words("Let's go, café!") == ["let's", "go", "cafe"]


def test_real_base_model_transcribes_the_sample(tmp_path):
    whisper_cli = find_whisper_cli()
    ffmpeg = required_tool(shutil.which("ffmpeg"), "ffmpeg not found on PATH (scripts/setup installs it)")

    made = subprocess.run([REPO_ROOT / "scripts" / "whisper-base-model"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"scripts/whisper-base-model failed ({made.returncode}):\n{made.stderr[-3000:]}")
    model = made.stdout.strip().splitlines()[-1]

    wav = tmp_path / "sample.wav"
    sample = REPO_ROOT / "samples" / "ielts-part1-sample.ogg"
    to_wav = ["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"]
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-i", sample, *to_wav, wav], check=True)
    threads = str(min(4, os.cpu_count() or 1))
    run = subprocess.run(
        [whisper_cli, "-m", model, "-f", wav, "-l", "en", "-t", threads, "-nt", "-np"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    # The turns samples/make-sample.sh speaks, one a line: "examiner: …" / "candidate: …".
    turns = (REPO_ROOT / "samples" / "ielts-part1-sample.txt").read_text().splitlines()
    spoken = [line.split(": ", 1)[1] for line in turns if line.strip()]
    reference, heard = words(" ".join(spoken)), words(run.stdout)
    wer = word_error_rate(reference, heard)
    assert wer <= 0.05, f"word error rate {wer:.1%}; whisper-cli heard: {run.stdout.strip()!r}"
