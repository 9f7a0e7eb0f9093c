// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {RiskBookHandler} from "./RiskBookHandler.sol";
import {FuzzSelector, Vm, VM_ADDRESS} from "./Vm.sol";

/// @title RiskBookInvariantsTest
/// @notice Forge's invariant fuzzer drives RiskBookHandler (trades in option series, oracle moves,
///         time, expiry settlement) through random sequences; after every call expiry settlement
///         must conserve value (docs/spec.md §4.2): one settlement price per underlying and expiry,
///         payoffs at it that never change, call − put = S − K, and Σ payouts = 0.
contract RiskBookInvariantsTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    RiskBookHandler internal handler;

    event log_named_string(string key, string val);

    function setUp() public {
        handler = new RiskBookHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        selectors = new FuzzSelector[](1);
        selectors[0] = FuzzSelector(address(handler), handler.actions());
    }

    function invariant_settlement() public view {
        if (handler.violations() != 0) {
            revert(string.concat(vm.toString(handler.violations()), " violation(s), first: ", handler.firstViolation()));
        }
    }

    /// @notice One fixed pseudo-random sequence of 400 actions: every action is accepted, options
    ///         settle, and some call and put of one strike settle in different blocks after the
    ///         oracle moved (the straddle attack of tests/test_risk_book.py) — the invariants hold.
    function test_handlerReachesSettlementApart() public {
        for (uint256 i = 0; i < 400; ++i) {
            uint256 s = uint256(keccak256(abi.encode("pymargin.forge.riskbook", i)));
            uint256 op = s % 10;
            if (op < 4) handler.trade(s >> 8, s >> 16, s >> 24, s >> 32);
            else if (op < 6) handler.movePrice(s >> 8, s >> 16);
            else if (op < 8) handler.warp(s >> 8);
            else handler.settle(s >> 8);
        }
        string[4] memory names = ["trade", "movePrice", "warp", "settle"];
        for (uint256 op = 0; op < 4; ++op) {
            emit log_named_string(names[op], string.concat(
                vm.toString(handler.accepted(op)), " accepted of ", vm.toString(handler.calls(op)), " calls"
            ));
            require(handler.accepted(op) > 0, string.concat("action never accepted: ", names[op]));
        }
        emit log_named_string("legs settled apart", vm.toString(handler.legsSettledApart()));
        require(handler.legsSettledApart() > 0, "no call and put of one strike settled apart");
        invariant_settlement();
    }
}
