"""The ``toy-cubes`` scene package: red cubes on a grey floor (the worked example of docs/scene-format.md)."""
