"""``GET /api/v1/cluster`` (admins): the cluster's nodes, their clients, lag and leases."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from allied_c2.cluster.status import cluster_status
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.health import require_admin

router = APIRouter(prefix="/api/v1")


@router.get("/cluster")
async def cluster(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    require_admin(request, principal)
    node = runtime_of(request).cluster
    if node is None:
        raise HTTPException(404, "this server is not a cluster node (serve --cluster)")
    nodes = await asyncio.to_thread(node.store.nodes)
    return {**cluster_status(nodes, this_node=node.node_id), "this": node.status()}
