"""A minimal ERC-20-shaped contract assembled by hand: transfer() moves balances and emits Transfer.

Enough for tracing tests: the tracer reads Transfer logs, symbol(), decimals() and balanceOf().
Balances live in storage slot = holder address, unchecked: the first sender's balance wraps below
zero, which stands in for minting.
"""
from __future__ import annotations

TRANSFER_TOPIC = bytes.fromhex("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
OPCODES = {"STOP": 0x00, "ADD": 0x01, "SUB": 0x03, "SLOAD": 0x54, "SSTORE": 0x55, "SWAP1": 0x90, "EQ": 0x14, "SHR": 0x1C, "CALLER": 0x33, "CALLDATALOAD": 0x35,
           "CODECOPY": 0x39, "MSTORE": 0x52, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80,
           "LOG3": 0xA3, "RETURN": 0xF3, "REVERT": 0xFD}


def assemble(program: list) -> bytes:
    """Two-pass assembler: str = opcode or ':label'; ('push', bytes|int, size) ; ('label', name)."""
    def size(item) -> int:
        return 1 + item[2] if isinstance(item, tuple) and item[0] in ("push", "ref") else (
            0 if isinstance(item, str) and item.startswith(":") else 1)

    labels, offset = {}, 0
    for item in program:
        if isinstance(item, str) and item.startswith(":"):
            labels[item[1:]] = offset
        offset += size(item)
    code = bytearray()
    for item in program:
        if isinstance(item, tuple):
            kind, value, width = item
            value = labels[value] if kind == "ref" else value
            data = value if isinstance(value, bytes) else value.to_bytes(width, "big")
            code += bytes([0x5F + width]) + data.rjust(width, b"\0")
        elif not item.startswith(":"):
            code.append(OPCODES[item])
    return bytes(code)


def token_runtime(symbol: str | None, decimals: int | None) -> bytes:
    """Runtime code; without symbol/decimals those calls revert (a token that will not say)."""
    program = [("push", 0, 1), "CALLDATALOAD", ("push", 0xE0, 1), "SHR",
               "DUP1", ("push", 0xA9059CBB, 4), "EQ", ("ref", "transfer", 2), "JUMPI",
               "DUP1", ("push", 0x70A08231, 4), "EQ", ("ref", "balance", 2), "JUMPI"]
    if symbol is not None:
        program += ["DUP1", ("push", 0x95D89B41, 4), "EQ", ("ref", "symbol", 2), "JUMPI"]
    if decimals is not None:
        program += ["DUP1", ("push", 0x313CE567, 4), "EQ", ("ref", "decimals", 2), "JUMPI"]
    program += [("push", 0, 1), ("push", 0, 1), "REVERT"]
    program += [":balance", "JUMPDEST", ("push", 0x04, 1), "CALLDATALOAD", "SLOAD", ("push", 0, 1),
                "MSTORE", ("push", 0x20, 1), ("push", 0, 1), "RETURN"]
    # balance[to] += amount; balance[caller] -= amount
    program += [":transfer", "JUMPDEST", ("push", 0x04, 1), "CALLDATALOAD", "DUP1", "SLOAD",
                ("push", 0x24, 1), "CALLDATALOAD", "ADD", "SWAP1", "SSTORE",
                "CALLER", "SLOAD", ("push", 0x24, 1), "CALLDATALOAD", "SWAP1", "SUB", "CALLER",
                "SSTORE",
                ("push", 0x24, 1), "CALLDATALOAD", ("push", 0, 1),
                "MSTORE", ("push", 0x04, 1), "CALLDATALOAD", "CALLER",
                ("push", TRANSFER_TOPIC, 32), ("push", 0x20, 1), ("push", 0, 1), "LOG3",
                ("push", 1, 1), ("push", 0, 1), "MSTORE", ("push", 0x20, 1), ("push", 0, 1),
                "RETURN"]
    if symbol is not None:
        text = symbol.encode().ljust(32, b"\0")
        program += [":symbol", "JUMPDEST", ("push", 0x20, 1), ("push", 0, 1), "MSTORE",
                    ("push", len(symbol), 1), ("push", 0x20, 1), "MSTORE",
                    ("push", text, 32), ("push", 0x40, 1), "MSTORE",
                    ("push", 0x60, 1), ("push", 0, 1), "RETURN"]
    if decimals is not None:
        program += [":decimals", "JUMPDEST", ("push", decimals, 1), ("push", 0, 1), "MSTORE",
                    ("push", 0x20, 1), ("push", 0, 1), "RETURN"]
    return assemble(program)


def deployment_code(runtime: bytes) -> bytes:
    """Init code that copies the runtime into place and returns it."""
    init = assemble([("push", len(runtime), 2), "DUP1", ("push", 0, 2), ("push", 0, 1),
                     "CODECOPY", ("push", 0, 1), "RETURN"])
    # patch the code offset (the init code's own length) into the second PUSH2
    init = init[:5] + len(init).to_bytes(2, "big") + init[7:]
    return init + runtime


def transfer_call(to: str, amount: int) -> str:
    """Calldata for transfer(to, amount)."""
    return "0xa9059cbb" + to.lower()[2:].rjust(64, "0") + format(amount, "064x")
