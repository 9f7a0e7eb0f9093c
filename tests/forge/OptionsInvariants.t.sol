// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {OptionsHandler} from "./OptionsHandler.sol";
import {FuzzSelector, Vm, VM_ADDRESS} from "./Vm.sol";

/// @title OptionsInvariantsTest
/// @notice Forge's invariant fuzzer drives OptionsHandler (option fills, price and mark moves, time,
///         expiry settlement of positions); after every call premiums and settlements have conserved
///         value, sizes sum to 0 per series, the series aggregates equal the sums over positions, the
///         settlement dust is whole and checkpoints are accepted (docs/spec.md §5.13).
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

    /// @notice One fixed pseudo-random sequence: fills are accepted, the options expire and every
    ///         position is settled; the invariants hold throughout.
    function test_handlerTradesAndSettles() public {
        for (uint256 i = 0; i < 120; ++i) {
            uint256 s = uint256(keccak256(abi.encode("pymargin.forge.options", i)));
            uint256 op = s % 10;
            if (op < 6) handler.trade(s >> 8, s >> 16, s >> 24, s >> 32, s >> 40);
            else if (op < 8) handler.movePrice(s >> 8, s >> 16);
            else if (op < 9) handler.warp((s >> 8) % 3600);
            else handler.checkpoint();
        }
        vm.warp(block.timestamp + 4 days);
        handler.warp(0);
        for (uint256 k = 0; k < 2; ++k) {
            handler.settle(k, 0);
            handler.checkpoint(); // a series settled, positions settling: long ≠ short
            for (uint256 a = 1; a < 3; ++a) handler.settle(k, a);
        }
        handler.checkpoint();
        string[5] memory names = ["trade", "movePrice", "warp", "settle", "checkpoint"];
        for (uint256 op = 0; op < 5; ++op) {
            emit log_named_string(names[op], string.concat(
                vm.toString(handler.accepted(op)), " accepted of ", vm.toString(handler.calls(op)), " calls"
            ));
            require(handler.accepted(op) > 0, string.concat("action never accepted: ", names[op]));
        }
        for (uint256 a = 0; a < 3; ++a) {
            require(handler.options().optionSeries(handler.actors(a)).length == 0, "a position was left unsettled");
        }
        invariant_optionsConserveValue();
    }
}
