"""Federation between national servers through a releasability guard (issue 11).

TAK Server federation v2 (gRPC over mutual TLS, ``proto/fig.proto``), with every
item that leaves for a peer passing this server's audience decision for that
peer. Pure modules (no I/O): ``identity`` (who a federate is), ``wire`` (CoT to
and from ``FederatedEvent``), ``rules`` and ``sanitise`` (per-federate
sanitisation), ``guard`` (the outbound decision), ``backlog`` (the bounded
outbound queue), ``link`` (one link's state machine). The I/O edge:
``channel`` (method table, TLS credentials), ``listener`` (the gRPC servicer),
``dialer`` (the outgoing link) and ``service`` (the links, wired to the hub's
outlet and the store). docs/federation.md is the operator's page.
"""
