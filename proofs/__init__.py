"""liqspec.proofs: z3 theorems over the reference model, and the checks that tie them to it.

* :mod:`.encodings`: each reference rule and operation as z3 integer terms (one formula per rule);
* :mod:`.domains`: the parameter domains (every venue profile, and generic symbolic parameters);
* :mod:`.theorems`: the registry of theorems (``Inv and pre and op => Inv'``, no false
  liquidation, progress, the fee cap, rounding, ADL, the cascade model check...);
* :mod:`.prover`: vacuity check, proof, counterexample and time for each;
* :mod:`.scenarios`: a z3 model as a concrete scenario that replays in the reference;
* :mod:`.fidelity`: the encodings compared with the reference on generated concrete cases;
* :mod:`.mutation`: deliberate bugs in the reference, and which checks catch them;
* :mod:`.cli`: ``liqspec prove`` and ``liqspec mutate``.
"""
