"""Importing address labels for one chain (shipped ones live in chain/data)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import InvalidInput
from chain.addresses import AddressError, validate_address
from chain.labels import read_label_file
from chain.models import AddressLabel

CHAIN_NAME_MAX = 32


@dataclass(frozen=True)
class LabelImport:
    """What an import stored."""

    added: int
    skipped: int


def import_labels(session: Session, path: Path | str, *, chain: str = "ethereum",
                  source: str | None = None) -> LabelImport:
    """Import a CSV/JSON/TagPack label file for `chain`; known rows are skipped; one commit."""
    chain = (chain or "").strip().lower()
    if not chain or len(chain) > CHAIN_NAME_MAX:
        raise InvalidInput("chain", "must be a chain name such as ethereum, tron or bsc")
    try:
        labels = read_label_file(Path(path), source=source)
        for line, label in enumerate(labels, start=1):
            try:
                validate_address(chain, label.address)
            except AddressError as error:
                raise ValueError(f"row {line}: {label.address[:64]!r} is not a {chain} address: "
                                 f"{error}") from error
    except (ValueError, OSError) as error:
        raise InvalidInput("path", str(error)) from error
    known = {(r.address, r.category, r.label) for r in session.execute(
        select(AddressLabel.address, AddressLabel.category, AddressLabel.label).where(
            AddressLabel.chain == chain))}
    added = 0
    for label in labels:
        if (label.address, label.category, label.label) in known:
            continue
        known.add((label.address, label.category, label.label))
        session.add(AddressLabel(chain=chain, address=label.address, label=label.label,
                                 category=label.category, entity=label.entity,
                                 source=label.source))
        added += 1
    session.commit()
    return LabelImport(added=added, skipped=len(labels) - added)
