"""What kft does with a finished run directory's model.

- `evaluate`: `kft eval`, the model on a labelled split (`kft.evaluate`);
- `data`: the split `kft eval` reads, from `config.json` alone;
- `report`: its terminal table and Markdown report, worst examples;
- `predict`: `kft predict`, the model's classes for new inputs;
- `export`: `kft export`, the model as `.keras`, SavedModel or ONNX.

Above `kft.training`: it loads models through it. Its modules stay light
at import; keras is imported inside functions.
"""
