"""ganzoo's commands, one module each; ``ganzoo.cli.main`` (the ``ganzoo`` entry point) dispatches to them.

- :mod:`ganzoo.commands.fit`: ``fit``, ``validate``, ``test``, ``predict`` (LightningCLI);
- :mod:`ganzoo.commands.generate`: samples of a checkpoint;
- :mod:`ganzoo.commands.evaluate`: image metrics of a checkpoint;
- :mod:`ganzoo.commands.train_classifier`: the domain evaluator's classifier;
- :mod:`ganzoo.commands.animate`: a run's pictures as a GIF or MP4.
"""
