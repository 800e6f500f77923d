"""Generated TAK protocol v1 messages (see generate.sh); import the *_pb2 modules."""
