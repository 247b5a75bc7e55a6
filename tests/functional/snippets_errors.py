from snippets_base import case

CASES = []
