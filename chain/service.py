"""Use cases of the money trail: request, run and read traces; import labels; draft letters."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.db import is_postgresql, utcnow
from kernel.errors import DomainError, InvalidInput, NotFound
from chain import states
from chain.caching import CachedHistory, cacheable_transaction, transaction_key
from chain.explorers.port import Explorer, Transaction
from chain.drafts import FreezeRequest, IssuerRequest, draft_freeze_requests, draft_issuer_requests
from chain.graph import render_svg
from chain.issuers import holdings_to_check, issuer_findings, read_balances
from chain.label_import import LabelImport, import_labels
from chain.labels import Label, LabelIndex, findings_for, shipped_labels
from chain.models import AddressLabel, ChainCache, Trace
from chain.stablecoins import SHIPPED, Stablecoin
from chain.tracing import MAX_DEPTH, TraceBounds, stopped_findings, trace_funds

# Chains whose transaction ids are 64 hex digits without 0x; every other chain is EVM (0x and 64).
BARE_HASH_CHAINS = frozenset({"bitcoin", "bitcoin-testnet", "tron"})
EVM_HASH = re.compile(r"0x[0-9a-f]{64}")
BARE_HASH = re.compile(r"[0-9a-f]{64}")
CHAIN_NAME = re.compile(r"[a-z][a-z0-9-]{1,31}")


def request_trace(session: Session, *, chain: str, tx_hash: str, depth: int,
                  incident_id: uuid.UUID | None = None, requested_by: str | None = None,
                  configured_chains: Collection[str] | None = None,
                  now: datetime | None = None) -> Trace:
    """Validate and queue a trace (no network here); the worker runs it with run_trace."""
    chain = (chain or "").strip().lower()
    if not CHAIN_NAME.fullmatch(chain):
        raise InvalidInput("chain", "must be a chain name such as ethereum or bitcoin")
    if configured_chains is not None and chain not in configured_chains:
        raise InvalidInput("chain", f"no explorer configured for chain {chain}")
    if not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
        raise InvalidInput("depth", f"must be an integer from 0 to {MAX_DEPTH}")
    trace = Trace(chain=chain, tx_hash=normalize_hash(chain, tx_hash), depth=depth,
                  incident_id=incident_id, requested_by=requested_by, status=states.INITIAL,
                  created_at=now or utcnow())
    session.add(trace)
    session.commit()
    return trace


def normalize_hash(chain: str, tx_hash: str) -> str:
    """A well-formed transaction hash in canonical (lowercase) form, or InvalidInput."""
    text = (tx_hash or "").strip().lower()
    if chain in BARE_HASH_CHAINS:
        if not BARE_HASH.fullmatch(text):
            raise InvalidInput("tx_hash", f"a {chain} transaction id is 64 hexadecimal characters "
                               "without 0x")
    elif not EVM_HASH.fullmatch(text):
        raise InvalidInput("tx_hash", "an EVM transaction hash is 0x followed by 64 hex characters")
    return text


def get_trace(session: Session, *, trace_id: uuid.UUID) -> Trace:
    """The trace, or NotFound."""
    trace = session.get(Trace, trace_id)
    if trace is None:
        raise NotFound(f"trace {trace_id} not found")
    return trace


def list_traces(session: Session, *, incident_id: uuid.UUID) -> list[Trace]:
    """An incident's traces, newest first."""
    query = select(Trace).where(Trace.incident_id == incident_id).order_by(
        Trace.created_at.desc())
    return list(session.scalars(query))


def run_trace(session: Session, *, trace_id: uuid.UUID, explorers: Mapping[str, Explorer],
              now: datetime | None = None, max_fan_out: int = 8,
              min_amount: Decimal = Decimal(0),
              coins: Mapping[str, Mapping[str, Stablecoin]] = SHIPPED) -> Trace:
    """Fetch and follow the money with no transaction open during network calls; one final commit."""
    trace = get_trace(session, trace_id=trace_id)
    states.transition(trace, "running", started_at=now or utcnow(), error=None)
    session.commit()
    explorer = explorers.get(trace.chain)
    # Explorers live as long as the worker and count every trip; this trace's are the difference.
    trips_before = explorer.round_trips if explorer is not None else 0
    try:
        if explorer is None:
            raise DomainError(f"no explorer configured for chain {trace.chain}")
        index = _label_index(session, trace.chain)
        result = _follow(session, trace, explorer, index,
                         TraceBounds(depth=trace.depth, max_fan_out=max_fan_out,
                                     min_amount=min_amount), coins.get(trace.chain, {}))
    except DomainError as error:
        return _finish_failed(session, trace, error.detail, explorer, trips_before, now)
    return _finish_done(session, trace, result, explorer, trips_before, now)


@dataclass
class _Followed:
    """What the network phase produced, stored by the final commit."""

    transaction: Transaction
    graph: dict[str, Any]
    findings: list[dict[str, Any]]
    cache_writes: dict[str, dict[str, Any]]


def _follow(session: Session, trace: Trace, explorer: Explorer, index: LabelIndex,
            bounds: TraceBounds, coins: Mapping[str, Stablecoin]) -> _Followed:
    """The network phase: transaction (cached when final), then one fetch per hop level."""
    key = transaction_key(trace.tx_hash)
    cached = _read_cache(session, trace.chain, [key]).get(key)
    writes: dict[str, dict[str, Any]] = {}
    if cached is not None:
        head = explorer.latest_block()
        tx = Transaction.from_json(cached)
        tx = _with_confirmations(tx, head)
    else:
        tx = explorer.get_transaction(trace.tx_hash)
        head = (tx.block_number or 0) + max(tx.confirmations - 1, 0)
        stored = cacheable_transaction(tx, explorer.finality_depth)
        if stored is not None:
            writes[key] = stored
    history = CachedHistory(explorer, head, lambda keys: _read_cache(session, trace.chain, keys))
    flow = trace_funds(tx, history, bounds=bounds, labels_of=index.labels_of)
    graph = flow.to_json()
    findings = findings_for((node for node in graph["nodes"] if node["hop"] > 0), trace.chain,
                            graph["edges"])
    # Balances are read now, at trace time: what an issuer can still freeze, never cached.
    balances = read_balances(explorer, holdings_to_check(graph, coins))
    findings += issuer_findings(graph, balances, coins)
    findings += stopped_findings(graph, bounds.max_fan_out)
    return _Followed(tx, graph, findings, {**writes, **history.writes})


def _with_confirmations(tx: Transaction, head: int) -> Transaction:
    """A cached confirmed transaction with its confirmations counted against today's head."""
    return replace(tx, confirmations=max(head - (tx.block_number or head) + 1, 0))


def _read_cache(session: Session, chain: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Read cache rows and end the read transaction at once (network calls follow)."""
    if not keys:
        return {}
    rows = session.execute(select(ChainCache.key, ChainCache.value).where(
        ChainCache.chain == chain, ChainCache.key.in_(keys))).all()
    session.commit()
    return {row.key: row.value for row in rows}


def _label_index(session: Session, chain: str) -> LabelIndex:
    """Shipped labels plus the chain's imported ones (read before any network call)."""
    rows = session.scalars(select(AddressLabel).where(AddressLabel.chain == chain)).all()
    session.commit()
    imported = [Label(r.address, r.category, r.label, r.entity, r.source) for r in rows]
    return LabelIndex(shipped_labels(chain)).extend(imported)


def _finish_done(session: Session, trace: Trace, result: _Followed, explorer: Explorer, trips_before: int,
                 now: datetime | None) -> Trace:
    """Store the results and the new cache rows in one commit."""
    states.transition(trace, "done")
    trace.transaction = json.loads(json.dumps(result.transaction.to_json()))
    trace.graph, trace.findings = result.graph, result.findings
    trace.round_trips = explorer.round_trips - trips_before
    trace.finished_at = now or utcnow()
    _write_cache(session, trace.chain, result.cache_writes)
    session.commit()
    return trace


def _finish_failed(session: Session, trace: Trace, error: str, explorer: Explorer | None, trips_before: int,
                   now: datetime | None) -> Trace:
    """Record a clean failure the reader can act on."""
    states.transition(trace, "failed", error=error)
    trace.round_trips = explorer.round_trips - trips_before if explorer is not None else 0
    trace.finished_at = now or utcnow()
    session.commit()
    return trace


def _write_cache(session: Session, chain: str, writes: dict[str, dict[str, Any]]) -> None:
    """Insert or replace cache rows (a concurrent trace may have written the same key)."""
    if not writes:
        return
    existing = {row.key: row for row in session.scalars(select(ChainCache).where(
        ChainCache.chain == chain, ChainCache.key.in_(list(writes))))}
    for key, value in writes.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(ChainCache(chain=chain, key=key, value=value))


def get_trace_svg(session: Session, *, trace_id: uuid.UUID) -> str:
    """The fund-flow picture of a finished trace as an SVG document, in English (the API's own language)."""
    trace = get_trace(session, trace_id=trace_id)
    return render_svg(trace.graph or {"nodes": [], "edges": []}, title=f"{trace.chain} "
                      f"{trace.tx_hash}")


__all__ = ["FreezeRequest", "IssuerRequest", "LabelImport",
           "draft_freeze_requests", "draft_issuer_requests", "get_trace", "get_trace_svg",
           "import_labels", "list_traces", "normalize_hash", "request_trace", "run_trace"]


# Hashes the system traces by itself (reported ones, withdrawals pulled from the exchange) go this deep.
AUTO_TRACE_DEPTH = 3
# A trace left `running` this long was dropped by a dead worker and is taken again.
RUNNING_LEASE = timedelta(minutes=5)
# A traced transaction still pending is looked at again this often, for this long (DESIGN §2 flow 5).
PENDING_RECHECK = timedelta(seconds=30)
PENDING_WATCH = timedelta(hours=24)


def add_trace_requests(session: Session, *, transactions: Iterable[tuple[str, str]], depth: int,
                       incident_id: uuid.UUID | None, requested_by: str,
                       now: datetime | None = None, incident_is_new: bool = False) -> list[Trace]:
    """Queue traces in the caller's transaction; malformed hashes and ones the incident has a trace of are skipped.
    No transactions, no query (most reports name none); an incident opened in the caller's transaction has no
    trace yet, so none is looked for."""
    transactions = list(transactions)
    if not transactions:
        return []
    has_traces = incident_id is not None and not incident_is_new
    queued, seen = [], {(row.chain, row.tx_hash) for row in session.execute(select(Trace.chain, Trace.tx_hash).where(
        Trace.incident_id == incident_id))} if has_traces else set()
    for chain, tx_hash in transactions:
        try:
            normalized = normalize_hash(chain, tx_hash)
        except InvalidInput:
            continue
        if (chain, normalized) in seen:
            continue
        seen.add((chain, normalized))
        trace = Trace(chain=chain, tx_hash=normalized, depth=depth, incident_id=incident_id,
                      requested_by=requested_by, status=states.INITIAL, created_at=now or utcnow())
        session.add(trace)
        queued.append(trace)
    return queued


def claim_next_trace(session: Session, *, now: datetime | None = None) -> uuid.UUID | None:
    """Take one trace to run: queued, abandoned by a dead worker, or watching a pending transaction."""
    now = now or utcnow()
    pending = Trace.transaction["status"].as_string() == "pending"
    due = or_(
        Trace.status == "queued",
        and_(Trace.status == "running", Trace.started_at < now - RUNNING_LEASE),
        and_(Trace.status == "done", pending, Trace.finished_at < now - PENDING_RECHECK,
             Trace.created_at > now - PENDING_WATCH),
    )
    query = select(Trace).where(due).order_by(Trace.created_at).limit(1)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    trace = session.scalar(query)
    if trace is None:
        session.rollback()
        return None
    states.transition(trace, "running", started_at=now)
    session.commit()
    return trace.id
