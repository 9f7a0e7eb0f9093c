// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "../vendor/OpenZeppelin.sol";

/// @title FeeOnTransferToken
/// @notice A test ERC-20 (6 decimals, anyone mints) that burns ⌊amount·feeBps / 10^4⌋ of every
///         transfer between two holders, so the recipient receives less than was sent.
contract FeeOnTransferToken is ERC20 {
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee USD", "fUSD") {
        feeBps = feeBps_;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amount` token units to `to` (test faucet).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 amount) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, amount);
        uint256 fee = amount * feeBps / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, amount - fee);
    }
}
