"""The conformance kit: vectors generated from the reference, and ``liqspec conform``, which
checks any engine against them over a JSON-lines protocol (see ``docs/conformance.rst``).

* :mod:`.catalogue`: every query, operation and the cascade a request can name;
* :mod:`.vectors`: the pre / op / post vectors and their generator;
* :mod:`.schema`: the JSON Schemas of every file kind, and a small validator;
* :mod:`.protocol`: the engine process (hello, requests, timeouts) and ``serve`` for adapters;
* :mod:`.shrink`: a divergence reduced to a minimal case;
* :mod:`.harness`: ``liqspec conform``: vectors, campaign, report.
"""
