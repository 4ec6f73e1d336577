"""Start-up: `ganzoo --help`, `ganzoo generate --help` and `ganzoo evaluate --help` import only what they use.

Each check runs in a fresh interpreter (this one has imported everything) and lists the
heavy packages in ``sys.modules`` afterwards; a top-level import added back fails here.
"""
import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT

#: packages that none of the help paths needs: Lightning brings torchmetrics, and through it
#: torch-fidelity, matplotlib, scipy and torchvision (seconds of start-up on a small machine)
HEAVY = ("lightning", "torchmetrics", "torch_fidelity", "wandb", "matplotlib", "rich", "scipy", "torchvision", "tensorboard")


def imported_after(code: str) -> list[str]:
    """The packages among torch and HEAVY that ``code`` leaves imported, in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print('\\nIMPORTED', json.dumps([m for m in ('torch',) + {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.rsplit("IMPORTED ", 1)[1])


def help_of(args: list[str]) -> str:
    return f"from ganzoo.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code"


pytestmark = pytest.mark.slow  # fresh interpreters


def test_importing_the_cli_and_the_package_imports_neither_torch_nor_lightning():
    assert imported_after("import ganzoo.cli, ganzoo") == []


@pytest.mark.parametrize(
    "args, allowed",
    [(["--help"], []), (["generate", "--help"], []), (["evaluate", "--help"], ["torch"])],  # torch: the metric registry
    ids=["ganzoo", "generate", "evaluate"],
)
def test_a_help_imports_only_what_it_prints(args, allowed):
    assert imported_after(help_of(args)) == allowed


def test_ganzoo_help_is_lightning_clis_own_help_followed_by_ganzoos_commands(capsys, monkeypatch):
    """The stored text (ganzoo.commands.top_help) is what LightningCLI prints, character for character."""
    from ganzoo.cli import main
    from ganzoo.commands.fit import GANZooCLI

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "argv", ["ganzoo"])
    with pytest.raises(SystemExit):
        GANZooCLI(args=["--help"])
    real = capsys.readouterr().out
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    shown = capsys.readouterr().out
    assert exit.value.code == 0
    print(f"LightningCLI's help, for ganzoo/commands/top_help.py:\n{real!r}")
    assert shown.startswith(real) and real.startswith("usage: ganzoo [-c CONFIG] {fit,validate,test,predict} ...")
    assert shown[len(real):].startswith("\nganzoo's own commands (ganzoo COMMAND --help):\n  generate ")


def test_the_static_imports_for_type_checkers_and_the_docs_match_the_lazy_exports():
    """``ganzoo/__init__.py`` names its exports twice: ``_EXPORTS`` for the lazy imports at run time and an
    ``if TYPE_CHECKING:`` block that static readers (type checkers, the API pages' griffe) follow; they must agree."""
    import ast

    import ganzoo

    tree = ast.parse((ROOT / "ganzoo" / "__init__.py").read_text())
    (block,) = [node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "_TYPE_CHECKING"]
    static = {node.module: tuple(alias.name for alias in node.names) for node in block.body}
    assert static == ganzoo._EXPORTS
    assert sorted(name for names in static.values() for name in names) == sorted(ganzoo.__all__)
