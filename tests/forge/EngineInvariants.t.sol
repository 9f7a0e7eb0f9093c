// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EngineHandler} from "./EngineHandler.sol";
import {FuzzSelector, Vm, VM_ADDRESS} from "./Vm.sol";

/// @title EngineInvariantsTest
/// @notice Forge's invariant fuzzer drives EngineHandler (deposits, withdrawals, collateral transfers,
///         fills, funding rates, oracle moves, time, liquidations, fee withdrawals, insurance
///         deposits) through random sequences; after every call the properties of docs/spec.md §5.6
///         must hold. Run with `forge test` (scripts/test.sh does); runs and depth in foundry.toml.
contract EngineInvariantsTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    EngineHandler internal handler;

    /// @dev forge prints these (ds-test's log event) with -vv.
    event log_named_string(string key, string val);

    function setUp() public {
        handler = new EngineHandler();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        selectors = new FuzzSelector[](1);
        selectors[0] = FuzzSelector(address(handler), handler.actions());
    }

    /// @notice After every action, the four properties of docs/spec.md §5.6 (checked by the handler
    ///         against the state before the action; one campaign checks all four):
    ///         - solvency: tokens held cover Σ Q + insurance + fees − bad debt; an operation without a
    ///           fill leaves the difference unchanged, a fill or liquidation grows it by at most
    ///           (WAD − 1) per rounding site (WAD² scale);
    ///         - the insurance fund never pays for a profit: no shortfall settled by insurance or bad
    ///           debt exceeds the account's negative equity before the operation;
    ///         - no account whose risk an operation increased ends it below initial margin;
    ///         - a liquidation takes at most the account's positive equity.
    function invariant_engine() public view {
        require(handler.solvencySlack() >= 0, "solvency slack is negative");
        string memory failed = "";
        failed = _check(failed, EngineHandler.Kind.Solvency, "solvency");
        failed = _check(failed, EngineHandler.Kind.InsurancePaysProfit, "insurance paid for a profit");
        failed = _check(failed, EngineHandler.Kind.BelowInitialMargin, "below initial margin after a risk increase");
        failed = _check(failed, EngineHandler.Kind.LiquidationLoss, "liquidation loss beyond equity");
        if (bytes(failed).length != 0) revert(failed);
    }

    /// @notice One fixed pseudo-random sequence of 600 actions (the last market may be settled after the
    ///         400th): every action is accepted by the engine at least once, whole positions are
    ///         liquidated, and the invariants hold — proof that the fuzzer's handler reaches what the
    ///         invariants are about. `forge test -vv` prints the counts.
    function test_handlerReachesEveryOperation() public {
        for (uint256 i = 0; i < 600; ++i) {
            uint256 s = uint256(keccak256(abi.encode("pymargin.forge.sequence", i)));
            uint256 a = uint256(keccak256(abi.encode(s, 1)));
            uint256 b = uint256(keccak256(abi.encode(s, 2)));
            uint256 c = uint256(keccak256(abi.encode(s, 3)));
            uint256 op = s % 22;
            if (op < 2) handler.deposit(a, b);
            else if (op < 3) handler.withdraw(a, b);
            else if (op < 4) handler.transferCollateral(a, b);
            else if (op < 10) handler.trade(a, b, c, s >> 8, s >> 16);
            else if (op < 11) handler.setFundingRate(a, b);
            else if (op < 14) handler.movePrice(a, b);
            else if (op < 16) handler.warp(a);
            else if (op < 18) handler.liquidate(a, b, c);
            else if (op < 19) handler.withdrawFees(a);
            else if (op < 20) handler.depositInsurance(a);
            else if (op < 21 && i > 400) handler.settleMarket(a);
            else handler.closeSettledPosition(a);
        }
        string[12] memory names = [
            "deposit", "withdraw", "transferCollateral", "trade", "setFundingRate", "movePrice", "warp",
            "liquidate", "withdrawFees", "depositInsurance", "settleMarket", "closeSettledPosition"
        ];
        for (uint256 op = 0; op < 12; ++op) {
            emit log_named_string(names[op], string.concat(
                vm.toString(handler.accepted(op)), " accepted of ", vm.toString(handler.calls(op)), " calls"
            ));
        }
        emit log_named_string("shortfalls settled", vm.toString(handler.shortfalls()));
        emit log_named_string("whole positions liquidated", vm.toString(handler.fullLiquidations()));
        for (uint256 op = 0; op < 12; ++op) {
            require(handler.accepted(op) > 0, string.concat("action never accepted: op ", vm.toString(op)));
        }
        require(handler.fullLiquidations() > 0, "no whole position was liquidated");
        invariant_engine();
    }

    /// @dev `failed`, with "<what>: <n> time(s), first: <description>" appended if `kind` was violated.
    function _check(string memory failed, EngineHandler.Kind kind, string memory what)
        internal
        view
        returns (string memory)
    {
        uint256 n = handler.violations(uint256(kind));
        if (n == 0) return failed;
        return string.concat(
            failed, bytes(failed).length == 0 ? "" : " | ", what, ": ", vm.toString(n), " time(s), first: ",
            handler.firstViolation(kind)
        );
    }
}
