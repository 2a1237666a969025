"""liqspec.proofs: z3 theorems over the reference model, and the checks that tie them to it.

* :mod:`.encodings`: each reference rule and operation as z3 integer terms (one formula per rule);
* :mod:`.domains`: the parameter domains (every venue profile, and generic symbolic parameters);
* :mod:`.theorems`: the registry of theorems (``Inv and pre and op => Inv'``, no false
  liquidation, progress, the fee cap, rounding, ADL, the cascade model check...);
* :mod:`.prover`: the fidelity check against the installed reference, then vacuity check,
  proof and counterexample for each, decided by z3's deterministic resource limit;
* :mod:`.calibrate`: each theorem's resource limit measured (``python -m liqspec.proofs.calibrate``);
* :mod:`.counterexamples`: a z3 model as a concrete scenario that replays in the reference;
* :mod:`.fidelity`: the encodings compared with the reference on generated concrete cases;
* :mod:`.mutation`: deliberate bugs in the reference, which checks catch them, and which
  theorems cover each (or why none does);
* :mod:`.cli`: ``liqspec prove`` and ``liqspec mutate``.
"""
