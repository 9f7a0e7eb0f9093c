"""Zero-knowledge proofs of solvency over committed accounts (docs/spec.md §7).

One concept per module: ``field`` (BN254 scalar field, signed encoding), ``circom`` (compile
circuits with the pinned circom 2), ``r1cs`` (read constraint systems, check witnesses),
``witness`` (compute and read witnesses), ``proof`` (proof and verifying-key JSON), ``setup``
(development and ceremony trusted setups, cached), ``backends`` (snarkjs reference prover and the
fast groth16py prover behind one interface), ``verify`` (independent Groth16 verifier on py-ecc, one
proof or a batch in one pairing check), ``solidity`` (the verifier contracts of a key),
``calldata`` (eth-abi encoding), ``statement`` (the public statement of an epoch and its hashes),
``inputs`` (circuit inputs and the statement of a committed book),
``solvency`` (epoch proving: batches, chaining, parallel and Ray workers). The verifier and
SolvencyRegistry on a chain are in :mod:`pymargin.chain.solvency` (chain sits above zk).
"""
