"""The diagnosis rules, one module per family; `engine.RULES` says the order they are tried in."""
