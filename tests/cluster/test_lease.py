"""The cluster's leases when the holder is cut off from PostgreSQL (issue 13).

Real PostgreSQL; the holder reaches it through a proxy that ``freeze()``s: what the
holder sends is never answered and nothing is closed, as in a network partition,
so its check of the lease hangs. The holder must stop believing it holds the lease
within ``VALID`` seconds of its last answered check, whether or not that check has
returned. PostgreSQL itself ends a silent session after its keepalives (about 6 s):
the test does that step with ``pg_terminate_backend`` (the proxy's own socket keeps
answering keepalives, which a partitioned host would not). Then another node takes
the lease, and at no moment do both hold it.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from allied_c2.cluster.lease import SERVER_SILENCE, VALID, Lease
from allied_c2.store.db import PG_CONNECT_DEFAULTS, create_engine_for, normalise_url
from tests.reliability.tcpproxy import TcpProxy


def test_a_partitioned_holder_lets_go_before_another_node_can_take_the_lease(
    cluster_db: str,
) -> None:
    assert VALID < SERVER_SILENCE  # the bound the design rests on (lease.py)
    direct = make_url(normalise_url(cluster_db))
    proxy = TcpProxy((direct.host or "127.0.0.1", direct.port or 5432)).start()
    via_proxy = direct.set(host=proxy.address[0], port=proxy.address[1])
    holder_engine = create_engine_for(via_proxy.render_as_string(hide_password=False))
    other_engine = create_engine_for(cluster_db)
    admin = create_engine(normalise_url(cluster_db), isolation_level="AUTOCOMMIT")
    holder = Lease(holder_engine, "test:partition")
    other = Lease(other_engine, "test:partition")
    hung: list[BaseException | bool] = []
    try:
        assert holder.try_acquire() and holder.held
        assert not other.try_acquire(), "two holders while both can reach PostgreSQL"
        with admin.connect() as conn:
            holder_pid = conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            ).scalar_one()  # pg_locks is server-wide: other tests' leases are there too
        proxy.freeze()
        frozen_at = time.monotonic()

        def check() -> None:
            try:
                hung.append(holder.check())
            except BaseException as exc:  # reported by the assertions below
                hung.append(exc)

        checking = threading.Thread(target=check, daemon=True)
        checking.start()
        while holder.held:
            assert time.monotonic() - frozen_at < VALID + 0.5, "the holder kept the lease"
            time.sleep(0.05)
        let_go = time.monotonic() - frozen_at
        assert checking.is_alive() and not hung, "the check was meant to hang unanswered"
        # What PostgreSQL's keepalives do to a silent session, done at once here.
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder_pid})
        deadline = time.monotonic() + 10
        while not other.try_acquire():
            assert not holder.held
            assert time.monotonic() < deadline, "no other node could take the lease"
            time.sleep(0.2)
        assert not holder.held, "two holders at once"
        print(f"holder let go {let_go:.2f} s after its last answer (VALID {VALID} s)")
        proxy.restore()
        checking.join(15)
        assert hung and hung[0] is not True, hung  # its session was gone: lost, not held
        assert not holder.held and not holder.try_acquire()
        assert other.held
    finally:
        proxy.restore()
        other.release()
        holder.release()
        proxy.close()
        for engine in (holder_engine, other_engine, admin):
            engine.dispose()


def test_postgres_connections_time_out_instead_of_hanging(cluster_db: str) -> None:
    """Every PostgreSQL connection the server opens carries the client-side timeouts."""
    engine = create_engine_for(cluster_db)
    try:
        with engine.connect() as conn:
            info = conn.connection.dbapi_connection.info  # type: ignore[union-attr]
            params = info.get_parameters()
        for name, value in PG_CONNECT_DEFAULTS.items():
            assert params.get(name) == str(value), (name, params.get(name))
    finally:
        engine.dispose()
    # A URL that sets one itself keeps its own value.
    engine = create_engine_for(cluster_db + "?tcp_user_timeout=2500")
    try:
        with engine.connect() as conn:
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert params["tcp_user_timeout"] == "2500"
    finally:
        engine.dispose()
