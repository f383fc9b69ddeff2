"""kft's recipes: plain modules, one task each. `from recipes import mrpc`."""
