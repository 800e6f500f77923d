#!/usr/bin/env bash
# Regenerates fig_pb2.py / binarypayload_pb2.py (and .pyi) beside the .proto files.
# Run from anywhere; uses the project venv's grpcio-tools (bundled protoc). Only the
# messages are generated: the gRPC edge (federation/channel.py) registers the
# methods itself, so the client-streaming calls can answer before they complete
# as TAK's do (federation-v2.md section 1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
root="$(cd "$src/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
cd "$src"
"$python" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. allied_c2/federation/proto/*.proto
