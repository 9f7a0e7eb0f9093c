// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OptionsHandler} from "./OptionsHandler.sol";
import {FuzzSelector, Vm, VM_ADDRESS} from "./Vm.sol";

/// @title OptionsInvariantsTest
/// @notice Forge's invariant fuzzer drives OptionsHandler (option fills, price and mark moves, time,
///         liquidations, expiry settlement of positions); after every call premiums, liquidations and
///         settlements have conserved value, sizes sum to 0 per series, the series aggregates equal the sums
///         over positions, the settlement dust is whole, the insurance fund has not shrunk and checkpoints
///         are accepted (docs/spec.md §5.13).
contract OptionsInvariantsTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    OptionsHandler internal handler;

    event log_named_string(string key, string val);

    function setUp() public {
        handler = new OptionsHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        selectors = new FuzzSelector[](1);
        selectors[0] = FuzzSelector(address(handler), handler.actions());
    }

    function invariant_optionsConserveValue() public view {
        if (handler.violations() != 0) {
            revert(string.concat(vm.toString(handler.violations()), " violation(s), first: ", handler.firstViolation()));
        }
    }

    /// @notice One fixed pseudo-random sequence: fills are accepted, an account falls below maintenance and
    ///         is liquidated, the options expire and every position is settled; the invariants hold throughout.
    function test_handlerTradesAndSettles() public {
        for (uint256 i = 0; i < 120; ++i) {
            uint256 s = uint256(keccak256(abi.encode("pymargin.forge.options", i)));
            uint256 op = s % 10;
            if (op < 4) handler.trade(s >> 8, s >> 16, s >> 24, s >> 32, s >> 40);
            else if (op < 5) handler.withdrawFree(s >> 8, s >> 16);
            else if (op < 7) handler.movePrice(s >> 8, s >> 16);
            else if (op < 8) handler.warp((s >> 8) % 3600);
            else if (op < 9) {
                for (uint256 a = 0; a < 3; ++a) handler.liquidate(s >> 8, a, s >> 16, s >> 24);
            } else {
                handler.checkpoint();
            }
        }
        // every actor at its initial margin, then the price runs up and back down: someone falls below
        // maintenance and its call position is liquidated (the puts are left for expiry)
        for (uint256 i = 0; i < 8; ++i) {
            for (uint256 a = 0; a < 3; ++a) handler.withdrawFree(a, 99);
            handler.movePrice(i < 4 ? 0.199e18 : 0, i);
            for (uint256 a = 0; a < 3; ++a) handler.liquidate(a, a + i, 0, 4 * i);
        }
        vm.warp(block.timestamp + 4 days);
        handler.warp(0);
        for (uint256 k = 0; k < 2; ++k) {
            handler.settle(k, 0);
            handler.checkpoint(); // a series settled, positions settling: long ≠ short
            for (uint256 a = 1; a < 3; ++a) handler.settle(k, a);
        }
        handler.checkpoint();
        string[7] memory names = ["trade", "movePrice", "warp", "settle", "liquidate", "withdrawFree", "checkpoint"];
        for (uint256 op = 0; op < 7; ++op) {
            emit log_named_string(names[op], string.concat(
                vm.toString(handler.accepted(op)), " accepted of ", vm.toString(handler.calls(op)), " calls"
            ));
        }
        for (uint256 op = 0; op < 7; ++op) {
            require(handler.accepted(op) > 0, string.concat("action never accepted: ", names[op]));
        }
        for (uint256 a = 0; a < 3; ++a) {
            require(handler.options().optionSeries(handler.actors(a)).length == 0, "a position was left unsettled");
        }
        invariant_optionsConserveValue();
    }
}
