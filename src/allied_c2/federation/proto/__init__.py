"""Generated protobuf modules for TAK federation v2 (see generate.sh)."""
