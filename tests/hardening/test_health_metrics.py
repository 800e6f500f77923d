"""Issue 9 B: counts need an admin; /metrics needs an admin or the loopback listener."""

from __future__ import annotations

import httpx
import pytest

from allied_c2.config import Config, ConfigError, Endpoint
from tests.hardening.conftest import LOOPBACK, Node, NodeFactory


async def test_health_without_credentials_says_only_ready(node: Node) -> None:
    async with node.asgi() as client:
        response = await client.get("/api/v1/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        operator = await client.get("/api/v1/health", headers=node.auth("EAGLE"))
        assert operator.json() == {"status": "ok"}
        admin = (await client.get("/api/v1/health", headers=node.auth("ROOT"))).json()
    assert admin["status"] == "ok" and admin["picture_items"] == 0
    assert admin["connections"] == 0 and "version" in admin


async def test_health_is_503_while_the_audit_log_fails(node: Node) -> None:
    node.runtime.audit.failing = True
    async with node.asgi() as client:
        response = await client.get("/api/v1/health")
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}


async def test_metrics_need_an_admin(node: Node) -> None:
    async with node.asgi() as client:
        anonymous = await client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers=node.auth("EAGLE"))).status_code == 403
        admin = await client.get("/metrics", headers=node.auth("ROOT"))
    assert admin.status_code == 200
    assert "alliedc2_events_in_total" in admin.text
    assert "alliedc2_audit_write_failures_total" in admin.text


async def test_the_metrics_listener_serves_prometheus_on_loopback(make_node: NodeFactory) -> None:
    node = await make_node(http=None, metrics=LOOPBACK)
    assert "http" not in node.servers.addresses
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{node.url('metrics')}/metrics")
    assert response.status_code == 200
    assert "alliedc2_audit_failing 0.0" in response.text


def test_the_metrics_listener_is_refused_off_loopback() -> None:
    with pytest.raises(ConfigError, match="loopback only"):
        Config(metrics=Endpoint("0.0.0.0", 9464))
    assert Config(metrics=Endpoint("::1", 9464)).metrics is not None
