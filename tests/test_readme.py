import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_quick_start_tests_and_docs_are_exactly_three_marked_commands():
    marked = re.findall(r"<!-- ci:(\w+) -->\n```bash\n(.*?)```", README, flags=re.S)
    assert [name for name, _ in marked] == ["quickstart", "test", "docs"]
    for _, command in marked:
        assert len(command.strip().splitlines()) == 1
    assert "zoo_configs/vanilla_gaussian1d.yaml" in marked[0][1]
    assert '".[docs]"' in marked[2][1] and "mkdocs build --strict" in marked[2][1]
    ci = (ROOT / ".ci" / "run").read_text()
    for name, _ in marked:
        assert f"$(readme_command {name})" in ci  # CI runs these very commands


@pytest.mark.slow
def test_every_python_block_in_the_readme_runs(tmp_path):
    code = blocks("python")
    assert code
    for source in code:
        result = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_the_error_line_shown_in_the_readme_is_the_one_users_get():
    shown = next(line for line in README.splitlines() if line.startswith("ganzoo: error: unknown loss"))
    result = subprocess.run(
        [sys.executable, "-m", "ganzoo", "fit", "--config", "zoo_configs/vanilla_gaussian1d.yaml",
         "--model.init_args.loss=hinj", "--trainer.logger=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert shown in result.stderr.splitlines()


def test_the_zoo_section_counts_and_names_every_recipe():
    recipes = sorted(path.stem for path in (ROOT / "zoo_configs").glob("*.yaml"))
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
             "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    tens = {"twenty": 20, "thirty": 30}
    count = re.search(r"^(\w+(?:-\w+)?) recipes in `zoo_configs/`", README, flags=re.M).group(1).lower()
    head, _, unit = count.partition("-")
    number = tens[head] + (words.index(unit) if unit else 0) if head in tens else words.index(head)
    assert number == len(recipes), f"the README says {count} recipes; zoo_configs/ has {len(recipes)}"
    section = README.split("## The zoo", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in recipes if f"`{name}`" not in section]
    assert not missing, f"the README's zoo section does not name {missing}"
