"""The ``com.atakmap.FederatedChannel`` methods over grpcio, and their TLS credentials.

The methods are registered by hand (no generated ``_pb2_grpc``) because TAK's
client-streaming calls answer with their one ``Subscription`` at once and never
complete (federation-v2.md §1): on the wire that is a bidirectional stream
that sends one message, so both sides declare those methods stream-stream.
Mutual TLS only: the listener requires a client certificate from one of the
registered federates' CAs; both sides send the chain leaf + CA (§3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from allied_c2 import __version__
from allied_c2.federation.certs import FederationIdentity
from allied_c2.federation.proto import fig_pb2

SERVICE = "com.atakmap.FederatedChannel"
CLIENT_EVENT_STREAM = "ClientEventStream"  # Subscription -> stream FederatedEvent (to dialer)
SERVER_EVENT_STREAM = "ServerEventStream"  # stream FederatedEvent -> Subscription (from dialer)
CLIENT_ROL_STREAM = "ClientROLStream"
SERVER_ROL_STREAM = "ServerROLStream"
SERVER_GROUPS_STREAM = "ServerFederateGroupsStream"
CLIENT_GROUPS_STREAM = "ClientFederateGroupsStream"
HEALTH_CHECK = "HealthCheck"

# (request type, response type) of each method this server answers and calls.
TYPES: dict[str, tuple[Any, Any]] = {
    CLIENT_EVENT_STREAM: (fig_pb2.Subscription, fig_pb2.FederatedEvent),
    SERVER_EVENT_STREAM: (fig_pb2.FederatedEvent, fig_pb2.Subscription),
    CLIENT_ROL_STREAM: (fig_pb2.Subscription, fig_pb2.ROL),
    SERVER_ROL_STREAM: (fig_pb2.ROL, fig_pb2.Subscription),
    SERVER_GROUPS_STREAM: (fig_pb2.Subscription, fig_pb2.FederateGroups),
    CLIENT_GROUPS_STREAM: (fig_pb2.FederateGroups, fig_pb2.Subscription),
    HEALTH_CHECK: (fig_pb2.ClientHealth, fig_pb2.ServerHealth),
}
UNARY_STREAM = frozenset({CLIENT_EVENT_STREAM, CLIENT_ROL_STREAM, SERVER_GROUPS_STREAM})
STREAM_STREAM = frozenset({SERVER_EVENT_STREAM, SERVER_ROL_STREAM, CLIENT_GROUPS_STREAM})

Handler = Callable[..., Any]


def path(method: str) -> str:
    return f"/{SERVICE}/{method}"


def generic_handler(handlers: dict[str, Handler]) -> grpc.GenericRpcHandler:
    """The service's methods bound to ``handlers`` (name -> async callable)."""
    table: dict[str, grpc.RpcMethodHandler] = {}
    for name, function in handlers.items():
        request, response = TYPES[name]
        kinds = {
            "deserializer": request.FromString,
            "serializer": response.SerializeToString,
        }
        if name in UNARY_STREAM:
            table[name] = grpc.unary_stream_rpc_method_handler(
                function,
                request_deserializer=kinds["deserializer"],
                response_serializer=kinds["serializer"],
            )
        elif name in STREAM_STREAM:
            table[name] = grpc.stream_stream_rpc_method_handler(
                function,
                request_deserializer=kinds["deserializer"],
                response_serializer=kinds["serializer"],
            )
        else:
            table[name] = grpc.unary_unary_rpc_method_handler(
                function,
                request_deserializer=kinds["deserializer"],
                response_serializer=kinds["serializer"],
            )
    return grpc.method_handlers_generic_handler(SERVICE, table)


def callable_for(channel: grpc.aio.Channel, method: str) -> Any:
    """The client side of one method on ``channel``."""
    request, response = TYPES[method]
    factory = (
        channel.unary_stream
        if method in UNARY_STREAM
        else channel.stream_stream
        if method in STREAM_STREAM
        else channel.unary_unary
    )
    return factory(
        path(method),
        request_serializer=request.SerializeToString,
        response_deserializer=response.FromString,
    )


def message_options(max_bytes: int) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.max_send_message_length", max_bytes),
    ]


def server_credentials(
    identity: FederationIdentity, roots: Callable[[], bytes]
) -> grpc.ServerCredentials:
    """Mutual TLS whose trusted CAs are re-read at every handshake (``roots``), so a
    federate registered while the server runs can connect without a restart."""

    def configuration(trusted: bytes) -> Any:
        return grpc.ssl_server_certificate_configuration(
            [(identity.key_pem, identity.chain_pem)], root_certificates=trusted
        )

    state = {"roots": roots()}

    def fetch() -> Any:
        current = roots()
        if current == state["roots"]:
            return None  # keep the configuration in force
        state["roots"] = current
        return configuration(current)

    return grpc.dynamic_ssl_server_credentials(
        configuration(state["roots"]), fetch, require_client_authentication=True
    )


def channel_credentials(
    identity: FederationIdentity, peer_ca_pem: bytes
) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=peer_ca_pem,
        private_key=identity.key_pem,
        certificate_chain=identity.chain_pem,
    )


def subscription(identity: FederationIdentity, *, server: bool) -> fig_pb2.Subscription:
    """Who we are to the peer. ``version.major`` must be above 0 or TAK Server never
    completes a health check (federation-v2.md §1): 5 is the TAK release whose
    federation v2 the interface follows; branch and variant say what we are."""
    identity_type = (
        fig_pb2.Identity.FEDERATION_TAK_SERVER if server else fig_pb2.Identity.FEDERATION_TAK_CLIENT
    )
    return fig_pb2.Subscription(
        identity=fig_pb2.Identity(
            name=identity.server_name,
            uid=identity.server_id,
            serverId=identity.server_id,
            type=identity_type,
        ),
        version=fig_pb2.TakServerVersion(
            major=5, minor=0, patch=0, branch="allied-c2", variant=__version__
        ),
    )
