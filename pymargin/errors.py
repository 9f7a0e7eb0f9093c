"""Exception types shared by the whole package.

:class:`UserError` is a mistake the user can fix (bad file, wrong chain id, missing tool). The CLI
prints its message as one line and exits non-zero, without a traceback.
"""


class UserError(Exception):
    """A problem in the user's input or environment; ``str(err)`` says what is wrong and what to do."""

    exit_code = 2


class Revert(Exception):
    """A revert of the margin contracts, mirrored in Python: the custom error's ``name`` and ``args_``.

    The Python mirror raises subclasses named exactly as the Solidity custom errors, carrying the
    same arguments, so a parity test compares ``(exc.name, exc.args_)`` with the chain's
    :class:`~pymargin.chain.tx.ContractRevert`.
    """

    def __init__(self, *args: object):
        self.args_ = tuple(args)
        super().__init__(f"{self.name}{self.args_}" if self.args_ else self.name)

    @property
    def name(self) -> str:
        return type(self).__name__


class Panic(Revert):
    """Solidity's built-in ``Panic(uint256)``: 0x11 arithmetic overflow, 0x12 division by zero, 0x32 index out of bounds."""


ARITHMETIC_OVERFLOW = 0x11
DIVISION_BY_ZERO_PANIC = 0x12
