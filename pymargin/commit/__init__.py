"""Commitments over accounts (docs/spec.md §6): Poseidon leaves, a Merkle sum tree, inclusion proofs.

Modules, bottom up: ``poseidon`` (the hash), ``leaf`` (an account's leaf and its sums), ``tree`` (the
sum tree and paths), ``commitment`` (a book committed for an epoch), ``inclusion`` (proof files and
their verification). The hasher and registry contracts on a chain are in
:mod:`pymargin.chain.commitments` (chain sits above commit).
"""
