"""The outbox: every call to an outside system that must happen once, written with the change that asks for it.

- `states`: the rows' state machine as data, and the one function that moves a row.
- `lease`: the one claim/lease/record engine every outbox table uses (exchange commands, notifications,
  webhooks, peer messages): claim due rows under a token and a lease, let only the token's holder record.
- `commands`: the one way to write an exchange command.
- `calls`: the exchange call table (action → port call), and the send step.
- `freeze_batch`: the freeze's batch call (`POST /v1/accounts/freeze-batch`, 500 a call).
- `effects`: what a confirmed or refused exchange answer does to the case.
- `exchange`: claim, send and record exchange commands (the freeze's hot path included).
- `delivery`: record the attempts of notifications, webhooks and peer messages.
- `dispatcher`: runs exchange commands for a process (the request's fast path and the workers' batches).
"""
