"""ARCHITECTURE.md "Where adapters are chosen": app/adapters.py is the only product module that constructs
an adapter; every other module takes it from the ports."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app", "chain", "deploy", "exchange_sim", "incidents", "kernel", "verification")
CHOOSER = Path("app/adapters.py")
# Each adapter class, or the class whose construction builds one (S3BlobStore takes S3Settings, the HTTP
# exchange HttpSettings, the explorers their clients).
ADAPTERS = frozenset({
    "LocalExchange", "HttpExchange", "HttpSettings",
    "LogSmsGateway", "TwilioSmsGateway",
    "LogMailer", "SmtpMailer",
    "FileBlobStore", "S3BlobStore", "S3Settings",
    "EvmExplorer", "EsploraExplorer", "TronExplorer", "EtherscanClient",
})


def constructions(source: str) -> list[tuple[int, str]]:
    """(line, class) of every call to an adapter class or to one of its constructors (`EvmExplorer.over_http`),
    by its name or through its module, and of every import that renames one (which would hide its calls)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found += [(node.lineno, alias.name) for alias in node.names
                      if alias.name in ADAPTERS and alias.asname not in (None, alias.name)]
        if isinstance(node, ast.Call):
            found += [(node.lineno, name) for name in _called_names(node.func) if name in ADAPTERS][:1]
    return sorted(found)


def _called_names(func: ast.expr) -> list[str]:
    """`Class(`, `module.Class(` and `Class.constructor(`: the names a call goes through."""
    if isinstance(func, ast.Name):
        return [func.id]
    if not isinstance(func, ast.Attribute):
        return []
    inner = func.value
    return [func.attr] + ([inner.id] if isinstance(inner, ast.Name) else
                          [inner.attr] if isinstance(inner, ast.Attribute) else [])


def product_files() -> list[Path]:
    """Every Python file of the product, relative to the repository."""
    return sorted(path.relative_to(ROOT) for package in PRODUCT for path in (ROOT / package).rglob("*.py"))


def test_the_scan_sees_constructors_by_name_by_module_by_classmethod_and_renamed():
    source = ("mailer = SmtpMailer(url)\nstore = store_module.FileBlobStore(path)\n"
              "explorer = EvmExplorer.over_http(url)\nclass NaiveEvmExplorer(EvmExplorer):\n    pass\n"
              "from incidents.mail.log import LogMailer as Quiet\nfrom chain.explorers.tron import TronExplorer\n"
              "hint: LogSmsGateway | None = None\nexplorer = chain.explorers.tron.TronExplorer.over_http(url)\n")
    assert constructions(source) == [(1, "SmtpMailer"), (2, "FileBlobStore"), (3, "EvmExplorer"),
                                     (6, "LogMailer"), (9, "TronExplorer")]


def test_the_chooser_constructs_every_adapter():
    built = {name for _, name in constructions((ROOT / CHOOSER).read_text(encoding="utf-8"))}
    assert built == ADAPTERS


def test_no_product_module_but_the_chooser_constructs_an_adapter():
    offenders = [f"{path}:{line} constructs {name}" for path in product_files() if path != CHOOSER
                 for line, name in constructions((ROOT / path).read_text(encoding="utf-8"))]
    assert not offenders, "adapters are built only in app/adapters.py:\n" + "\n".join(offenders)
