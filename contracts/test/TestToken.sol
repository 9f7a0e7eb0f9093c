// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "../vendor/OpenZeppelin.sol";

/// @title TestToken
/// @notice The devnet collateral token: an OpenZeppelin ERC-20 with chosen decimals (6 for a USD
///         stand-in) that anyone may mint. Never deploy it where the token should have value.
contract TestToken is ERC20 {
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Mint `amount` token units to `to` (test faucet).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
