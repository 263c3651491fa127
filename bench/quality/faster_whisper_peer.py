"""faster-whisper, the transcriber's peer in bench/quality: the same Whisper base weights (the CTranslate2
model scripts/whisper-base-model keeps beside ggml-base.bin), the same files, threads, language and beam,
with faster-whisper's temperature fallback (its default) or without (whisper-cli's -nf).

    faster_whisper_peer.py MODEL_DIR COMPUTE_TYPE BEAM THREADS FALLBACK(true|false) FILE...

Loads the model once, transcribes each file in turn and prints one JSON line per file:
{"file", "text", "seconds"}; the first line is {"load_seconds"}. Progress goes to stderr.
"""

import json
import sys
import time

from faster_whisper import WhisperModel


def main(argv: list[str]) -> None:
    model_dir, compute_type, beam, threads, fallback, *files = argv
    # faster-whisper's default temperatures, or only 0 (no fallback)
    temperature = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if fallback == "true" else 0.0
    started = time.perf_counter()
    model = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=int(threads))
    print(json.dumps({"load_seconds": time.perf_counter() - started}), flush=True)
    for i, file in enumerate(files, 1):
        print(f"… faster-whisper {compute_type} beam {beam}: {i}/{len(files)}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        segments, _ = model.transcribe(
            file, language="en", beam_size=int(beam), temperature=temperature, vad_filter=False
        )
        text = " ".join(s.text.strip() for s in segments)  # the generator decodes as it is consumed
        print(json.dumps({"file": file, "text": text, "seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
