"""The demo's staff at work: the plan in :mod:`staffwork` performed over the HTTP API.

Each step uses the acting principal's own bearer token, so the server decides
exactly as it would for a person at the web page: who may file, who holds a
request, who may act, what each nation may read. A server without the
requests or readiness endpoints (404) is logged once and that part skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from allied_c2.demo.staffwork import (
    READINESS,
    REQUESTS,
    PlannedReport,
    PlannedRequest,
    Step,
    timeline,
)

log = logging.getLogger("allied_c2.demo.staff")

REQUESTS_PATH = "/api/v1/requests"
READINESS_PATH = "/api/v1/readiness"


@dataclass(slots=True)
class StaffResults:
    filed: dict[int, str] = field(default_factory=dict)  # plan index -> request id
    actions: int = 0
    reports: int = 0
    refused: list[str] = field(default_factory=list)
    unavailable: set[str] = field(default_factory=set)  # API paths that answered 404


class Staff:
    def __init__(
        self,
        base_url: str,
        tokens: dict[str, str],
        requests: tuple[PlannedRequest, ...] = REQUESTS,
        reports: tuple[PlannedReport, ...] = READINESS,
    ) -> None:
        self.base_url = base_url
        self.tokens = tokens
        self.requests = requests
        self.steps = timeline(requests, reports)
        self.results = StaffResults()

    async def run(self, stop: asyncio.Event) -> StaffResults:
        """Perform every step at its time; returns early when ``stop`` is set."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            for step in self.steps:
                delay = started + step.at_s - loop.time()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
                try:
                    await self._perform(client, step)
                except httpx.HTTPError as exc:
                    log.warning("staff step %s failed: %s", step.what, exc)
        return self.results

    async def _perform(self, client: httpx.AsyncClient, step: Step) -> None:
        now = datetime.now(UTC)
        if step.what == "report" and step.report is not None:
            report = step.report
            if await self._post(client, report.by, READINESS_PATH, report.body(now)) is not None:
                self.results.reports += 1
            return
        assert step.request is not None
        plan = self.requests[step.request]
        if step.what == "file":
            created = await self._post(client, plan.by, REQUESTS_PATH, plan.body(now))
            if created is not None and "id" in created:
                self.results.filed[step.request] = str(created["id"])
                log.info("%s filed %s %s: %s", plan.by, created["id"], plan.kind, plan.subject)
            return
        request_id = self.results.filed.get(step.request)
        if request_id is None or step.action is None:
            return  # never filed (refused or no API): nothing to act on
        action = step.action
        path = f"{REQUESTS_PATH}/{request_id}/actions"
        body = {"action": action.action, "reason": action.reason}
        if await self._post(client, action.by, path, body) is not None:
            self.results.actions += 1
            log.info("%s: %s %s", action.by, action.action, request_id)

    async def _post(
        self, client: httpx.AsyncClient, callsign: str, path: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        collection = READINESS_PATH if path.startswith(READINESS_PATH) else REQUESTS_PATH
        if collection in self.results.unavailable:
            return None
        headers = {"Authorization": f"Bearer {self.tokens[callsign]}"}
        response = await client.post(path, json=body, headers=headers)
        if response.status_code == 404 and path == collection:
            self.results.unavailable.add(collection)
            log.warning("this server has no %s (404): the demo skips that part", collection)
            return None
        if response.is_success:
            data = response.json()
            return data if isinstance(data, dict) else {}
        detail = _detail(response)
        self.results.refused.append(f"{callsign} POST {path}: {response.status_code} {detail}")
        log.warning("%s POST %s refused: %s %s", callsign, path, response.status_code, detail)
        return None


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])[:300]
    return str(data)[:300]
