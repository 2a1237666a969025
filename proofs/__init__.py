"""liqspec.proofs: z3 theorems over the reference model."""
