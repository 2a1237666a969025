"""A broken engine: answers hello, then dies on its first request."""

import json
import sys

for line in sys.stdin:
    if json.loads(line).get("type") == "hello":
        print(json.dumps({"format": 1, "type": "hello", "name": "crashing", "profiles": "any",
                          "operations": ["equity_quote", "liquidate"]}), flush=True)
    else:
        sys.stderr.write("segmentation fault (simulated)\n")
        raise SystemExit(139)
