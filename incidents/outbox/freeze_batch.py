"""Many due freezes of one exchange in one `freeze-batch` call, each answered like the single freeze it replaces.

The batch call of the freeze action (`calls.BATCH_CALLS["freeze"]`): the dispatcher claims due freezes first
and hands them here together; `freeze_claims` sends them in chunks of the policy's freeze batch size (500 at
most) and turns each item's answer into the `CallResult` the single call would have given, so every command's
outcome is recorded by `exchange.record_outcome` exactly as before (a 404 item fails its command alone, as a
single 404 does). A batch the exchange did not answer
(a timeout, a broken connection, 5xx after the adapter's retries) or refused as a whole is sent again
item by item with the same idempotency keys: an item the lost batch had frozen answers as frozen, once.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from incidents.containment import ACCOUNT_UNKNOWN_ERROR
from incidents.exchange.port import (
    MAX_FREEZE_BATCH,
    ExchangeError,
    ExchangePort,
    ExchangeRejected,
    FreezeItem,
    FreezeItemResult,
)
from incidents.outbox.calls import CallResult, Claim, call_exchange
from incidents.outbox.lease import DispatchPolicy

log = logging.getLogger("lockdesk.dispatch")

# How an item's refusal reads in the command's last_error, like a single call's ("<error class>: <detail>").
_REFUSALS = {404: ACCOUNT_UNKNOWN_ERROR, 409: ExchangeRejected.__name__}


def freeze_item(claim: Claim) -> FreezeItem:
    """The batch item of a claimed freeze: the payload and key the single freeze call would send."""
    return FreezeItem(account_id=claim.account_id, scope=claim.payload.get("scope", "full"),
                      reason=claim.payload.get("reason", ""), reference=claim.payload.get("reference", ""),
                      idempotency_key=claim.idempotency_key)


def chunk_size(policy: DispatchPolicy) -> int:
    """How many freezes go in one batch call: the policy's freeze batch size, at most what the port takes."""
    return max(1, min(policy.freeze_batch_size, MAX_FREEZE_BATCH))


def freeze_claims(exchange: ExchangePort, claims: Sequence[Claim], *, policy: DispatchPolicy) -> list[CallResult]:
    """The batch call of the freeze action: freeze the claimed freezes with as few calls as possible, in chunks
    of `chunk_size(policy)`; a result per claim, in order. Never raises."""
    size = chunk_size(policy)
    results: dict[object, CallResult] = {}
    for start in range(0, len(claims), size):
        results.update(_send_chunk(exchange, list(claims[start:start + size]), policy))
    return [results[claim.command_id] for claim in claims]


def _send_chunk(exchange: ExchangePort, chunk: list[Claim], policy: DispatchPolicy) -> dict[object, CallResult]:
    """One call for the chunk (a lone claim goes as a single freeze); item by item if the batch failed."""
    if len(chunk) == 1:
        return {chunk[0].command_id: call_exchange(exchange, chunk[0], policy=policy)}
    try:
        answers = exchange.freeze_batch([freeze_item(claim) for claim in chunk])
    except Exception as error:  # unanswered, refused whole or an answer we do not know: the single calls settle it
        detail = error.detail if isinstance(error, ExchangeError) else str(error)
        log.warning("freeze batch of %d failed (%s: %s); sending it item by item with the same keys",
                    len(chunk), type(error).__name__, detail, exc_info=not isinstance(error, ExchangeError))
        return one_by_one(exchange, chunk, policy)
    by_key = {answer.idempotency_key: answer for answer in answers}
    answered = {claim.command_id: item_result(by_key[claim.idempotency_key]) for claim in chunk
                if claim.idempotency_key in by_key and by_key[claim.idempotency_key].account_id == claim.account_id}
    left_out = [claim for claim in chunk if claim.command_id not in answered]  # not answered: ask for each alone
    return {**answered, **one_by_one(exchange, left_out, policy)}


def one_by_one(exchange: ExchangePort, claims: list[Claim], policy: DispatchPolicy) -> dict[object, CallResult]:
    """The single freeze call for each claim, with its key, until one finds the exchange unavailable: the rest
    are then not sent and are retried later like it (a down exchange would otherwise cost every item its
    own timeouts, long past the claims' leases)."""
    done: dict[object, CallResult] = {}
    unavailable: CallResult | None = None
    for claim in claims:
        if unavailable is not None:
            done[claim.command_id] = CallResult("retry", error=f"not sent: {unavailable.error}",
                                                retry_after=unavailable.retry_after)
            continue
        done[claim.command_id] = result = call_exchange(exchange, claim, policy=policy)
        if result.verdict == "retry":
            unavailable = result
    return done


def item_result(answer: FreezeItemResult) -> CallResult:
    """One item's answer as the single freeze's CallResult: done with the state change, or failed for good
    (404: the account is unknown; 409: refused), or retried later for anything else."""
    if answer.status == 200 and answer.change is not None:
        return CallResult("done", answer=answer.change)
    refusal = _REFUSALS.get(answer.status)
    if refusal is not None:
        return CallResult("failed", error=f"{refusal}: {answer.error}")
    return CallResult("retry", error=f"freeze-batch item answered {answer.status}: {answer.error}")
