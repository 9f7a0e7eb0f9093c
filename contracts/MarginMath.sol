// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";

/// @title MarginMath
/// @notice The account-level margin formulas of docs/spec.md §4 (equity, PnL, funding, initial and
///         maintenance margin), pure, over memory arrays. Mirrored bit for bit, reverts included,
///         by pymargin/margin.py.
/// @dev `markets[i]` is the view of `positions[i]`'s market (parallel arrays; `marketId` is not
///      read here). Every sum and product is Solidity's checked arithmetic, in the order written:
///      inside the bounds of spec §3 nothing overflows; outside them the first overflowing step
///      reverts Panic(0x11), a price > type(int256).max reverts SafeCastOverflow, and a `markets`
///      array shorter than `positions` reverts Panic(0x32). Values round against the account
///      (Floor), requirements in favour of the system (Ceil).
library MarginMath {
    struct PositionData {
        uint256 marketId;
        int256 size; // WAD base units, long > 0, short < 0
        int256 costBasis; // WAD quote, signed
        int256 fundingIndex; // WAD quote per base unit, the market's index at the last settlement
    }

    struct MarketData {
        uint256 priceWad; // oracle price, WAD quote per base unit
        int256 fundingIndexWad; // cumulative funding index, WAD quote per base unit
        uint256 imfWad; // initial margin fraction, WAD
        uint256 mmfWad; // maintenance margin fraction, WAD
    }

    uint256 internal constant WAD = 1e18;
    uint256 internal constant WAD2 = 1e36;

    /// @notice collateral − Σ costBasis_i + ⌊Σ size_i·(p_i − (F_i − f_i)) / WAD⌋ (WAD quote; one Floor division).
    /// @dev Per position: p cast to int256, d = F − f, a = p − d, value += size·a, cost += costBasis;
    ///      then (collateral − cost) + ⌊value / WAD⌋.
    function equity(int256 collateral, PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (int256)
    {
        int256 value = 0;
        int256 cost = 0;
        for (uint256 i = 0; i < positions.length; ++i) {
            PositionData memory pos = positions[i];
            MarketData memory m = markets[i];
            int256 price = FixedPointMath.toInt256(m.priceWad);
            value += pos.size * (price - (m.fundingIndexWad - pos.fundingIndex));
            cost += pos.costBasis;
        }
        int256 floored = FixedPointMath.sDivRounded(value, int256(WAD), FixedPointMath.Rounding.Floor);
        int256 net = collateral - cost;
        return net + floored;
    }

    /// @notice ⌊Σ size_i·p_i / WAD⌋ − Σ costBasis_i (WAD quote; Floor).
    /// @dev Per position: p cast to int256, value += size·p, cost += costBasis; then ⌊value / WAD⌋ − cost.
    function unrealisedPnl(PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (int256)
    {
        int256 value = 0;
        int256 cost = 0;
        for (uint256 i = 0; i < positions.length; ++i) {
            int256 price = FixedPointMath.toInt256(markets[i].priceWad);
            value += positions[i].size * price;
            cost += positions[i].costBasis;
        }
        return FixedPointMath.sDivRounded(value, int256(WAD), FixedPointMath.Rounding.Floor) - cost;
    }

    /// @notice ⌊−Σ size_i·(F_i − f_i) / WAD⌋: funding due (> 0) or owed (< 0) since the last
    ///         settlement (WAD quote; Floor, so what is owed rounds up).
    /// @dev Per position: owed += size·(F − f); the result is −⌈owed / WAD⌉ (= ⌊−owed / WAD⌋, and
    ///      never overflows since |owed| / WAD < 2^196).
    function pendingFunding(PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (int256)
    {
        int256 owed = 0;
        for (uint256 i = 0; i < positions.length; ++i) {
            owed += positions[i].size * (markets[i].fundingIndexWad - positions[i].fundingIndex);
        }
        return -FixedPointMath.sDivRounded(owed, int256(WAD), FixedPointMath.Rounding.Ceil);
    }

    /// @notice ⌈Σ |size_i|·p_i·imf_i / WAD²⌉ (WAD quote; Ceil).
    /// @dev uint256 per position: total += (|size|·p)·imf; then ⌈total / WAD²⌉.
    function initialMargin(PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (uint256)
    {
        return _requirement(positions, markets, true);
    }

    /// @notice ⌈Σ |size_i|·p_i·mmf_i / WAD²⌉ (WAD quote; Ceil).
    /// @dev uint256 per position: total += (|size|·p)·mmf; then ⌈total / WAD²⌉.
    function maintenanceMargin(PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (uint256)
    {
        return _requirement(positions, markets, false);
    }

    /// @notice equity − initialMargin (WAD quote; negative when below initial margin).
    /// @dev Equity is computed first, then the margin, then the checked difference.
    function freeCollateral(int256 collateral, PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (int256)
    {
        int256 eq = equity(collateral, positions, markets);
        uint256 im = initialMargin(positions, markets);
        return eq - int256(im); // im ≤ (2^256 − 1) / WAD² < 2^137: the cast is exact
    }

    /// @notice ⌊equity·WAD / maintenanceMargin⌋ (WAD; 1e18 = exactly at maintenance; Floor), or
    ///         type(int256).max when the maintenance margin is 0.
    /// @dev Equity is computed first (so it reverts even when MM = 0), then MM. Reverts
    ///      MulDivOverflow if the ratio is outside int256.
    function marginRatio(int256 collateral, PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (int256)
    {
        int256 eq = equity(collateral, positions, markets);
        uint256 mm = maintenanceMargin(positions, markets);
        if (mm == 0) return type(int256).max;
        return FixedPointMath.sMulDiv(eq, int256(WAD), int256(mm), FixedPointMath.Rounding.Floor);
    }

    /// @notice equity < maintenanceMargin.
    /// @dev Equity is computed first, then MM.
    function isLiquidatable(int256 collateral, PositionData[] memory positions, MarketData[] memory markets)
        internal
        pure
        returns (bool)
    {
        int256 eq = equity(collateral, positions, markets);
        uint256 mm = maintenanceMargin(positions, markets);
        return eq < int256(mm);
    }

    /// @dev ⌈Σ (|size_i|·p_i)·fraction_i / WAD²⌉ with fraction = imf (initial) or mmf, checked uint256.
    function _requirement(PositionData[] memory positions, MarketData[] memory markets, bool initial)
        private
        pure
        returns (uint256)
    {
        uint256 total = 0;
        for (uint256 i = 0; i < positions.length; ++i) {
            MarketData memory m = markets[i];
            uint256 fraction = initial ? m.imfWad : m.mmfWad;
            total += _abs(positions[i].size) * m.priceWad * fraction;
        }
        return FixedPointMath.divRounded(total, WAD2, FixedPointMath.Rounding.Ceil);
    }

    /// @dev |x| as uint256 (|type(int256).min| = 2^255 fits).
    function _abs(int256 x) private pure returns (uint256) {
        unchecked {
            return x < 0 ? uint256(-x) : uint256(x);
        }
    }
}
