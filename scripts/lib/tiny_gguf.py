#!/usr/bin/env python3
"""Writes a tiny random-weight llama-architecture GGUF that a real Ollama loads and serves.

The weights are random (seeded, so the file is byte-for-byte reproducible): the model knows nothing and
its text is noise. What it is for: with a JSON-schema `format`, Ollama constrains sampling with a grammar,
so even this model gives schema-shaped JSON, and the server's real paths (model lookup, loading, the
grammar, parallel slots, num_predict, cancellation) run for real in the integration tests.

Bias: the weights are random except for one direction. Every token embedding carries a constant in
dimension 0, and the output row of `"` reads it with a large weight, so wherever the grammar allows a
JSON string to close, the model closes it: strings stop at their minLength; and the rows of the byte
tokens and <unk> read it with a large negative weight, so strings are printable ASCII. (Only `"`: `]` and `}` are
also ordinary characters inside strings, and a bias for them filled strings with them.) The answers are
short (fast tests) and end by themselves; the grammar, not the weights, still decides what is valid. Without the bias a
classification took ~700 tokens and a set of model answers ~2,300 (strings end at random points).

Vocabulary: SentencePiece ("llama") with <unk> <s> </s>, the 256 byte-fallback tokens <0x00>..<0xFF> and
one token per printable ASCII character (space as U+2581), so any JSON text can be spelled.
Size: 64-wide, 1 layer, about 360 KB in F32.
Usage: tiny_gguf.py OUT.gguf [--seed N] [--ctx N]
"""
import argparse

import gguf
import numpy as np

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--ctx", type=int, default=32768, help="llama.context_length (the KV cache is tiny)")
ap.add_argument("--no-bias", action="store_true", help="purely random weights (answers end at random points)")
args = ap.parse_args()
rng = np.random.default_rng(args.seed)

n_embd, n_head, n_head_kv, n_layer, n_ff = 64, 2, 2, 1, 128
head_dim = n_embd // n_head

tokens: list[str] = []
scores: list[float] = []
types: list[int] = []


def add(tok: str, score: float, typ: gguf.TokenType) -> None:
    tokens.append(tok)
    scores.append(score)
    types.append(int(typ))


add("<unk>", 0.0, gguf.TokenType.UNKNOWN)
add("<s>", 0.0, gguf.TokenType.CONTROL)
add("</s>", 0.0, gguf.TokenType.CONTROL)
for b in range(256):
    add(f"<0x{b:02X}>", 0.0, gguf.TokenType.BYTE)
for c in range(0x20, 0x7F):
    add("\u2581" if c == 0x20 else chr(c), -1.0 - len(tokens) * 1e-3, gguf.TokenType.NORMAL)

w = gguf.GGUFWriter(args.out, "llama")
w.add_name("pronielts-tiny-random-llama")
w.add_context_length(args.ctx)
w.add_embedding_length(n_embd)
w.add_block_count(n_layer)
w.add_feed_forward_length(n_ff)
w.add_head_count(n_head)
w.add_head_count_kv(n_head_kv)
w.add_layer_norm_rms_eps(1e-5)
w.add_rope_dimension_count(head_dim)
w.add_rope_freq_base(10000.0)
w.add_vocab_size(len(tokens))
w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_tokenizer_model("llama")
w.add_tokenizer_pre("default")
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)
w.add_add_bos_token(True)
w.add_add_eos_token(False)


def rnd(*shape: int) -> np.ndarray:  # numpy (rows, cols) = GGUF ne reversed
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)


def ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=np.float32)


token_embd = rnd(len(tokens), n_embd)
output = rnd(len(tokens), n_embd)
if not args.no_bias:
    token_embd[:, 0] = 1.0  # after RMSNorm, dimension 0 is ~8 for every position; the rest ~0.2
    # Only the closers read dimension 0: for every other token it would add a fixed per-token offset
    # that drowns the context-dependent part, so at temperature 0 one token wins over and over and
    # Ollama's repeat guard stops the answer (done: false).
    output[:, 0] = 0.0
    output[tokens.index('"'), 0] = 0.5  # logit ~ +4 against ~ ±0.3 for every other token
    # Byte-fallback tokens and <unk> get ~ -4: the answers stay printable ASCII. A lone UTF-8
    # continuation byte passes Ollama's grammar as one character but is dropped from the answer text,
    # so strings came out one character shorter than minLength (see the decision record).
    for i, t in enumerate(types):
        if t in (int(gguf.TokenType.BYTE), int(gguf.TokenType.UNKNOWN)):
            output[i, 0] = -0.5
w.add_tensor("token_embd.weight", token_embd)
w.add_tensor("output_norm.weight", ones(n_embd))
w.add_tensor("output.weight", output)
for i in range(n_layer):
    p = f"blk.{i}."
    w.add_tensor(p + "attn_norm.weight", ones(n_embd))
    w.add_tensor(p + "attn_q.weight", rnd(n_embd, n_embd))
    w.add_tensor(p + "attn_k.weight", rnd(n_head_kv * head_dim, n_embd))
    w.add_tensor(p + "attn_v.weight", rnd(n_head_kv * head_dim, n_embd))
    w.add_tensor(p + "attn_output.weight", rnd(n_embd, n_embd))
    w.add_tensor(p + "ffn_norm.weight", ones(n_embd))
    w.add_tensor(p + "ffn_gate.weight", rnd(n_ff, n_embd))
    w.add_tensor(p + "ffn_up.weight", rnd(n_ff, n_embd))
    w.add_tensor(p + "ffn_down.weight", rnd(n_embd, n_ff))

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
bias = "no bias" if args.no_bias else "biased to close strings/arrays early"
print(f"wrote {args.out}: llama, vocab {len(tokens)}, {n_layer} layer, width {n_embd}, seed {args.seed}, {bias}")
