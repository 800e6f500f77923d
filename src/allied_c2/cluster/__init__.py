"""Scale-out (issue 13): one logical server as N processes on NATS JetStream and PostgreSQL.

``wire`` is pure (the stream's message format and subjects); ``bus`` publishes
what the hub accepts and injects what other nodes accepted; ``history`` writes
the stream to PostgreSQL once per event; ``lease`` is the PostgreSQL advisory
lock that makes one node the owner of a job. See docs/scaling.md.
"""
