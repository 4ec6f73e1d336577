"""The text of ``ganzoo --help``: LightningCLI's own top-level help, kept here so that printing it imports nothing.

Building the real one constructs the whole LightningCLI (torch, Lightning, torchmetrics and
what they import: seconds of start-up). ``tests/commands/test_startup.py`` checks that this text
is, character for character, what LightningCLI prints at 80 columns; when Lightning changes
it, that test prints the new text to put here.
"""

#: LightningCLI's top-level help at 80 columns (``{prog}``: the program's name, as argparse gives it).
TOP_LEVEL_HELP = "usage: {prog} [-c CONFIG] {{fit,validate,test,predict}} ...\n\nLightning Trainer command line tool\n\noptions:\n  -h, --help            Show this help message and exit.\n  -c CONFIG, --config CONFIG\n                        Path to a configuration file in json or yaml format.\n  --print_config \x08[=flags]\n                        Print the configuration after applying all other\n                        arguments and exit. The optional flags customizes the\n                        output and are one or more keywords separated by\n                        comma. The supported flags are: skip_default,\n                        skip_unset.\n\nsubcommands:\n  For more details of each subcommand, add it as an argument followed by\n  --help.\n\n  Available subcommands:\n                        (required)\n    fit                 Runs the full optimization routine.\n    validate            Perform one evaluation epoch over the validation set.\n    test                Perform one evaluation epoch over the test set. It's\n                        separated from fit to make sure you never run on your\n    predict             Run inference on your data. This will call the model\n                        forward function to compute predictions. Useful to\n"
