import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
BLOCKS = [
    pytest.param(source, id=f"{page.name}:{number}")
    for page in PAGES
    for number, source in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))
]


@pytest.mark.slow
@pytest.mark.parametrize("source", BLOCKS)
def test_python_block_runs(source, tmp_path):
    result = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_docs_link_to_pages_that_exist():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text()):
            assert (page.parent / target).resolve().exists(), f"{page.name} links to missing {target}"


def headings(text: str) -> list[str]:
    """The Markdown headings of a page, fenced code blocks left out (their ``#`` lines are comments)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"^#{1,6} (.*)$", prose, flags=re.M)


def test_headings_are_whole_and_unique_within_each_page():
    # A heading pasted twice on one line ("## A## A") or twice in one page breaks the table of
    # contents and gives two sections one anchor.
    for page in PAGES + [ROOT / "README.md", ROOT / "benchmarks" / "README.md"]:
        found = headings(page.read_text())
        assert found, page.name
        for heading in found:
            assert not re.search(r"#{2,}", heading), f"{page.name}: heading {heading!r} holds another heading"
        repeated = sorted({h for h in found if found.count(h) > 1})
        assert not repeated, f"{page.name} repeats the headings {repeated}"


def test_error_lines_in_the_cli_page_are_real_messages():
    from ganzoo import VanillaGAN, Gaussian1D, ConfigError
    from ganzoo.cli import GANZooCLI

    shown = [line.removeprefix("ganzoo: error: ") for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
             if line.startswith("ganzoo: error: ")]
    actual = []
    config = str(ROOT / "zoo_configs" / "vanilla_gaussian1d.yaml")
    for make in (lambda: VanillaGAN(prior="gauss"), lambda: VanillaGAN(latent_dim=0), lambda: Gaussian1D(batch_size=100000),
                 lambda: GANZooCLI(args=["--config", config, "--model.init_args.latent_dim=abc"], run=False),
                 lambda: GANZooCLI(args=["--config", config, "--model.init_args.latnt_dim=4"], run=False)):
        with pytest.raises(ConfigError) as info:
            make()
        actual.append(str(info.value))
    assert shown == actual


def test_error_lines_in_the_images_page_are_real_messages():
    from ganzoo import DCGAN, ConfigError, MNISTDataModule

    shown = [line.removeprefix("ganzoo: error: ") for line in (ROOT / "docs" / "images.md").read_text().splitlines()
             if line.startswith("ganzoo: error: ")]
    actual = []
    for make in (lambda: DCGAN(data_shape=(1, 30, 30)), lambda: DCGAN(data_shape=(3, 28, 28), depth=6),
                 lambda: MNISTDataModule(data_dir="/home/me/data").prepare_data()):
        with pytest.raises(ConfigError) as info:
            make()
        actual.append(str(info.value))
    assert shown == actual


def test_error_lines_in_the_evaluation_page_are_real_messages(tmp_path):
    from ganzoo import ConfigError
    from ganzoo.metrics.inception import check_weights_file, find_inception_weights

    shown = [line.removeprefix("ganzoo: error: ") for line in (ROOT / "docs" / "evaluation.md").read_text().splitlines()
             if line.startswith("ganzoo: error: ")]
    with pytest.raises(ConfigError) as missing:
        find_inception_weights("/data/inception.pth")
    assert shown[0] == str(missing.value)
    bad = tmp_path / "inception.pth"
    bad.write_bytes(b"\x80\x04\x95junk")
    with pytest.raises(ConfigError) as refused:
        check_weights_file(bad)
    pattern = re.escape(shown[1].replace("'inception.pth'", "'@'")).replace(re.escape("(...)"), r"\(.*\)")
    assert re.fullmatch(pattern.replace("@", re.escape(str(bad))), str(refused.value))


def test_error_lines_in_the_conditional_page_are_real_messages():
    from ganzoo import ACGAN, ConditionalGAN, ConfigError, ImageEvaluator, SelfConditionedGAN, VanillaGAN

    shown = [line.removeprefix("ganzoo: error: ") for line in (ROOT / "docs" / "conditional.md").read_text().splitlines()
             if line.startswith("ganzoo: error: ")]
    acgan = ACGAN(num_classes=10, data_shape=[1, 8, 8], backbone="mlp", g_hidden_dims=[8], d_hidden_dims=[8])
    actual = []
    for make in (lambda: ConditionalGAN(num_classes=0), lambda: acgan.generate(1, labels=10),
                 lambda: VanillaGAN().generate(1, labels=1),
                 lambda: ImageEvaluator(["class_accuracy"]).check_generator(SelfConditionedGAN(cluster_samples=20))):
        with pytest.raises(ConfigError) as info:
            make()
        actual.append(str(info.value))
    assert shown == actual


def test_the_zoo_table_has_one_row_per_recipe():
    """docs/zoo.md lists every YAML of zoo_configs/ exactly once, with a result or the reason there is none."""
    rows = [line for line in (ROOT / "docs" / "zoo.md").read_text().splitlines() if line.startswith("| `")]
    names = [re.match(r"\| `([\w-]+)`", row)[1] for row in rows]
    assert sorted(names) == sorted(p.stem for p in (ROOT / "zoo_configs").glob("*.yaml"))
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 7 and all(cells[:5]), row  # recipe, model, data, loss, result are never blank


def recipe_headers() -> dict[str, str]:
    """Each recipe's opening comment block (the lines before its first setting), by recipe name."""
    headers = {}
    for path in sorted((ROOT / "zoo_configs").glob("*.yaml")):
        lines = path.read_text().splitlines()
        end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        headers[path.stem] = " ".join(line.lstrip("# ") for line in lines[:end])
    return headers


def test_the_files_a_recipe_header_names_exist():
    # a header that names a picture or page after it was replaced (docs/img/sngan_mnist_g2000.png) is a stale header
    for name, header in recipe_headers().items():
        for path in re.findall(r"\b(?:docs|benchmarks|zoo_configs)/[\w./-]*\w", header):
            assert (ROOT / path).exists(), f"zoo_configs/{name}.yaml names {path}, which does not exist"
        for recipe in re.findall(r"\b(\w+)\.yaml\b", header):
            assert (ROOT / "zoo_configs" / f"{recipe}.yaml").exists(), f"zoo_configs/{name}.yaml names {recipe}.yaml"


def test_recipe_headers_do_not_call_a_measured_recipe_unmeasured():
    """A recipe whose docs/zoo.md row reports a result does not say in its header that it is not measured or not
    scored yet (only a GPU run may be missing: every figure of the zoo comes from the CPU machine); a recipe whose
    row says "not measured" says so in its header too."""
    rows = [line for line in (ROOT / "docs" / "zoo.md").read_text().splitlines() if line.startswith("| `")]
    results = {re.match(r"\| `([\w-]+)`", row)[1]: row.strip("|").split("|")[4].strip() for row in rows}
    for name, header in recipe_headers().items():
        if results[name].startswith("not measured"):
            assert "not measured" in header, f"zoo_configs/{name}.yaml: docs/zoo.md says not measured, its header does not"
            continue
        for claim in re.finditer(r"\b(?:not|nor) (?:yet )?(?:measured|scored)(?: yet)?( on a GPU)?", header, flags=re.I):
            assert claim[1], f"zoo_configs/{name}.yaml says {claim[0]!r}, but docs/zoo.md reports: {results[name][:100]}"


def test_the_quick_start_page_shows_the_readmes_command_and_output():
    readme, page = (ROOT / "README.md").read_text(), (ROOT / "docs" / "quickstart.md").read_text()
    command = re.search(r"<!-- ci:quickstart -->\n```bash\n(.*?)```", readme, flags=re.S).group(1)
    output = re.search(r"```text\n(ganzoo: VanillaGAN on Gaussian1D: .*?)```", readme, flags=re.S).group(1)
    assert f"```bash\n{command}```" in page  # the command CI runs
    assert f"```text\n{output}```" in page


def test_the_api_reference_covers_the_public_api():
    import ganzoo
    import ganzoo.losses

    shown = set(re.findall(r"^::: ganzoo\.(\w+)$", (ROOT / "docs" / "api.md").read_text(), flags=re.M))
    if "losses" in shown:
        shown |= set(ganzoo.losses.__all__)
    assert sorted(set(ganzoo.__all__) - shown) == []


def _shell_commands():
    """Every ``ganzoo ...`` and ``python benchmarks/...`` command of the bash blocks in README.md and docs/."""
    for page in [ROOT / "README.md", *PAGES]:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.split(" #")[0].strip()
                if re.search(r"(^|\s)ganzoo\s|benchmarks/\w+\.py", line):
                    yield pytest.param(line, id=f"{page.name}:{line[:60]}")


#: placeholders of the docs' commands, and what stands in for them; the pages' own example
#: classes (defined in their Python blocks) are stood in for by the ganzoo class they extend
PLACEHOLDERS = {
    "<recipe>": "vanilla_gaussian1d", "<seed>": "0", "<run id>": "RUN_ID", "/path/to/data": "../shared/data",
    "mypackage.R1GAN --model.init_args.r1_gamma 0.1": "ganzoo.VanillaGAN", "mypackage.Exponential1D": "ganzoo.Gaussian1D",
    "mygans.R1DCGAN --model.init_args.r1_gamma 0.1": "ganzoo.DCGAN", "mygans.R1DCGAN": "ganzoo.DCGAN",
}  # fmt: skip


@pytest.mark.parametrize("line", list(_shell_commands()))
def test_shell_commands_in_the_docs_parse(line, capsys):
    """Each command's options exist: ganzoo's CLI parses it (``--print_config``, nothing trained),
    ``generate``/``evaluate`` parse it with their own parsers, and a benchmark's ``--help`` lists its options."""
    import shlex

    from ganzoo import evaluate, generate
    from ganzoo.cli import main

    for placeholder, value in PLACEHOLDERS.items():
        line = line.replace(placeholder, value)
    if match := re.search(r"benchmarks/(\w+)\.py(.*)", line):
        script, options = ROOT / "benchmarks" / f"{match[1]}.py", re.findall(r"--[\w-]+", match[2])
        shown = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and all(option in shown.stdout for option in options), (line, shown.stderr[-500:])
        return
    tokens = shlex.split(line.split("ganzoo ", 1)[1].split("&&")[0])
    command, args = tokens[0], tokens[1:]
    if command in ("generate", "evaluate"):
        (generate if command == "generate" else evaluate).parser().parse_args(args)
        return
    if command == "animate":  # a run directory of the reader's; the command's checks have their own tests
        from ganzoo.commands import animate

        animate.parser().parse_args(args)
        return
    if "--ckpt_path" in args:  # a run of the reader's; the checkpoint checks have their own tests
        del args[args.index("--ckpt_path") : args.index("--ckpt_path") + 2]
    args = [str(ROOT / arg) if arg.startswith("zoo_configs/") else arg for arg in args]
    with pytest.raises(SystemExit) as info:
        main([command, *[arg for arg in args if arg != "--print_config"], "--print_config"])
    assert info.value.code == 0, (line, capsys.readouterr().err[-1000:])
