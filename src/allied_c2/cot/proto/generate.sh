#!/usr/bin/env bash
# Regenerates the *_pb2.py / *_pb2.pyi modules beside the .proto files.
# Run from anywhere; uses the project venv's grpcio-tools (bundled protoc).
# The proto path is src/, so generated imports read `from allied_c2.cot.proto import …`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
root="$(cd "$src/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
cd "$src"
"$python" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. allied_c2/cot/proto/*.proto
