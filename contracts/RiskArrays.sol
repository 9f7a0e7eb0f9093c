// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";
import {Black76} from "./Black76.sol";
import {WadMath} from "./WadMath.sol";

/// @title RiskArrays
/// @notice SPAN-style risk arrays and portfolio margin (docs/spec.md §4.1), mirrored bit for bit,
///         reverts included, by pymargin/riskarray.py. A risk array is the P&L per long unit of a
///         perp or a European call/put on the perp's price in 16 scenarios: price moves of 0, ±1/3,
///         ±2/3, ±1 scanning range R, each with the implied vol ×(1 ± V), then ±3R (vol unchanged)
///         counted at 35 %. Maintenance = the largest scenario loss −Σ size·array, never below the
///         short-option minimum.
library RiskArrays {
    /// @notice What a risk array prices; the values equal pymargin.riskarray.InstrumentKind's.
    enum InstrumentKind {
        Perp,
        Call,
        Put
    }

    /// @notice price is 0 or above 2^128, priceRange > WAD or volRange ≥ WAD.
    error RiskArrayInputOutOfRange(uint256 price, uint256 vol, uint256 priceRange, uint256 volRange);
    /// @notice The sizes, arrays and short-option minimums of a portfolio have different lengths.
    error LengthMismatch();
    /// @notice The initial-margin multiple is below 1 WAD.
    error InitialMultipleBelowOne(uint256 multiple);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant SCENARIO_COUNT = 16;
    uint256 internal constant EXTREME_COVER_WAD = 0.35e18;
    uint256 internal constant MIN_PRICE_DIVISOR = 1e9;
    uint256 internal constant MAX_PRICE_WAD = 2 ** 128;

    /// @notice (price move in thirds of the range, vol direction) of scenario s.
    function scenario(uint256 s) internal pure returns (int256 moveThirds, int256 volDirection) {
        if (s >= 14) return (s == 14 ? int256(9) : int256(-9), 0);
        int256 magnitude = int256((s / 2 + 1) / 2); // 0, 1, 1, 2, 2, 3, 3 for the pairs 0..6
        moveThirds = (s / 2) % 2 == 1 ? magnitude : -magnitude;
        volDirection = s % 2 == 0 ? int256(1) : int256(-1);
    }

    /// @notice P·(1 + move·R/3), Floor, but at least max(⌊P/1e9⌋, 1).
    function scenarioPrice(uint256 price, int256 moveThirds, uint256 priceRange) internal pure returns (uint256) {
        uint256 floorPrice = price / MIN_PRICE_DIVISOR;
        if (floorPrice == 0) floorPrice = 1;
        int256 factor = 3 * int256(WAD) + moveThirds * int256(priceRange);
        if (factor <= 0) return floorPrice;
        uint256 p = FixedPointMath.mulDiv(price, uint256(factor), 3 * WAD, FixedPointMath.Rounding.Floor);
        return p > floorPrice ? p : floorPrice;
    }

    /// @notice σ·(1 + direction·V), Floor (direction ∈ {1, −1, 0}).
    function scenarioVol(uint256 vol, int256 direction, uint256 volRange) internal pure returns (uint256) {
        if (direction == 0) return vol;
        return FixedPointMath.mulWad(vol, direction > 0 ? WAD + volRange : WAD - volRange, FixedPointMath.Rounding.Floor);
    }

    /// @notice P&L per long unit (WAD) in each of the 16 scenarios, rounded down (Floor).
    /// @dev array[s] = value(P_s, σ_s) − value(P, σ) (perp: the price; option: Black-76, rate 0, τ not
    ///      decayed); the extreme rows are ⌊that·0.35⌋ (signed Floor).
    function riskArray(
        InstrumentKind kind,
        uint256 strike,
        uint256 tau,
        uint256 price,
        uint256 vol,
        uint256 priceRange,
        uint256 volRange
    ) internal pure returns (int256[16] memory out) {
        if (price == 0 || price > MAX_PRICE_WAD || priceRange > WAD || volRange >= WAD) {
            revert RiskArrayInputOutOfRange(price, vol, priceRange, volRange);
        }
        if (kind != InstrumentKind.Perp) return _optionArray(kind, strike, tau, price, vol, priceRange, volRange);
        for (uint256 s; s < SCENARIO_COUNT; ++s) {
            (int256 move, int256 direction) = scenario(s);
            int256 pnl = int256(scenarioPrice(price, move, priceRange)) - int256(price);
            out[s] = direction != 0
                ? pnl
                : FixedPointMath.sMulWad(pnl, int256(EXTREME_COVER_WAD), FixedPointMath.Rounding.Floor);
        }
    }

    /// @notice The short-option minimum per short unit: ⌈P·fraction⌉ for an option, 0 for a perp.
    function shortOptionMinimum(InstrumentKind kind, uint256 price, uint256 fraction) internal pure returns (uint256) {
        if (kind == InstrumentKind.Perp) return 0;
        return FixedPointMath.mulWad(price, fraction, FixedPointMath.Rounding.Ceil);
    }

    /// @notice Loss in each scenario: ⌈−Σ size·array[s] / WAD⌉ (Ceil; the sum exact, checked int256).
    function scenarioLosses(int256[] memory sizes, int256[16][] memory arrays)
        internal
        pure
        returns (int256[16] memory losses)
    {
        if (sizes.length != arrays.length) revert LengthMismatch();
        for (uint256 s; s < SCENARIO_COUNT; ++s) {
            int256 total;
            for (uint256 i; i < sizes.length; ++i) {
                total += sizes[i] * arrays[i][s];
            }
            losses[s] = FixedPointMath.sDivRounded(-total, int256(WAD), FixedPointMath.Rounding.Ceil);
        }
    }

    /// @notice max(0, largest scenario loss, ⌈Σ_short |size|·som / WAD⌉) in WAD (sums checked: Panic(0x11)).
    function maintenanceMargin(int256[] memory sizes, int256[16][] memory arrays, uint256[] memory somPerUnit)
        internal
        pure
        returns (uint256)
    {
        if (somPerUnit.length != sizes.length) revert LengthMismatch();
        int256[16] memory losses = scenarioLosses(sizes, arrays);
        int256 scan;
        for (uint256 s; s < SCENARIO_COUNT; ++s) {
            if (losses[s] > scan) scan = losses[s];
        }
        uint256 som;
        for (uint256 i; i < sizes.length; ++i) {
            if (sizes[i] < 0) som += uint256(-sizes[i]) * somPerUnit[i];
        }
        som = FixedPointMath.divRounded(som, WAD, FixedPointMath.Rounding.Ceil);
        return uint256(scan) > som ? uint256(scan) : som;
    }

    /// @notice ⌈maintenance · multiple⌉; reverts InitialMultipleBelowOne(multiple) below 1 WAD.
    function initialMargin(
        int256[] memory sizes,
        int256[16][] memory arrays,
        uint256[] memory somPerUnit,
        uint256 multiple
    ) internal pure returns (uint256) {
        if (multiple < WAD) revert InitialMultipleBelowOne(multiple);
        return FixedPointMath.mulWad(maintenanceMargin(sizes, arrays, somPerUnit), multiple, FixedPointMath.Rounding.Ceil);
    }

    /// @dev The array of an option: Black76.price(kind, P_s, K, σ_s, τ, 0) − Black76.price(kind, P, K, σ, τ, 0)
    ///      per scenario, with ln K, ln P_s and s = σ_s·√t each computed once (the same integers as
    ///      calling Black76.price every time, domain checks in the same order: base, then s = 0…15).
    function _optionArray(
        InstrumentKind kind,
        uint256 strike,
        uint256 tau,
        uint256 price,
        uint256 vol,
        uint256 priceRange,
        uint256 volRange
    ) private pure returns (int256[16] memory out) {
        Black76.OptionKind option = kind == InstrumentKind.Call ? Black76.OptionKind.Call : Black76.OptionKind.Put;
        Black76.checkDomain(price, strike, vol, tau, 0);
        int256 lnStrike = WadMath.lnWad(strike);
        uint256[3] memory sds = [
            Black76.stdDev(vol, tau),
            Black76.stdDev(scenarioVol(vol, 1, volRange), tau),
            Black76.stdDev(scenarioVol(vol, -1, volRange), tau)
        ];
        int256 base = int256(Black76.undiscounted(option, price, strike, WadMath.lnWad(price) - lnStrike, sds[0]));
        int256 lnRatio;
        for (uint256 s; s < SCENARIO_COUNT; ++s) {
            (int256 move, int256 direction) = scenario(s);
            uint256 ps = scenarioPrice(price, move, priceRange);
            Black76.checkDomain(ps, strike, scenarioVol(vol, direction, volRange), tau, 0);
            if (s % 2 == 0 || s >= 14) lnRatio = WadMath.lnWad(ps) - lnStrike; // rows 2i and 2i + 1 share a price
            uint256 sd = sds[direction > 0 ? 1 : direction < 0 ? 2 : 0];
            int256 pnl = int256(Black76.undiscounted(option, ps, strike, lnRatio, sd)) - base;
            out[s] = direction != 0
                ? pnl
                : FixedPointMath.sMulWad(pnl, int256(EXTREME_COVER_WAD), FixedPointMath.Rounding.Floor);
        }
    }
}
