"""The ``piccolo knowledge <verb>`` commands, one module per verb."""
