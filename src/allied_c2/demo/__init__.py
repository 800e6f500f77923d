"""`allied-c2 demo`: a live, synthetic trilateral disaster-relief exercise on a fresh server."""
