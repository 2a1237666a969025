"""A broken engine: answers hello, then never answers its first request."""

import json
import sys
import time

for line in sys.stdin:
    if json.loads(line).get("type") == "hello":
        print(json.dumps({"format": 1, "type": "hello", "name": "hanging", "profiles": "any",
                          "operations": ["equity_quote", "liquidate"]}), flush=True)
    else:
        while True:
            time.sleep(60)
