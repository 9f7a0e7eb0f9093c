// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title Black76
/// @notice Black-76 prices of European options on a forward (or perpetual) price, in WAD
///         (docs/spec.md §2.2), mirrored bit for bit, reverts included, by pymargin/black76.py.
///         D = e^(−r·t), s = σ√t, d1 = (ln F − ln K + s²/2)/s, d2 = d1 − s,
///         call = D·(F·N(d1) − K·N(d2)), put = D·(K·N(−d2) − F·N(−d1)), t = τ / 365 days.
library Black76 {
    /// @notice The kind of a European option; the values equal pymargin.black76.OptionKind's.
    enum OptionKind {
        Call,
        Put
    }

    /// @notice forward or strike is 0 or above 2^128, vol > 10 WAD, tau > 10 years or rate > 1 WAD.
    error OptionInputOutOfRange(uint256 forward, uint256 strike, uint256 vol, uint256 tau, uint256 rate);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant YEAR_S = 365 days;
    uint256 internal constant MAX_PRICE_WAD = 2 ** 128;
    uint256 internal constant MAX_VOL_WAD = 10e18;
    uint256 internal constant MAX_TAU_S = 10 * YEAR_S;
    uint256 internal constant MAX_RATE_WAD = 1e18;

    /// @notice Black-76 price (WAD quote units per unit of underlying), rounded down (Floor).
    /// @dev D = e^(−⌈r·τ/YEAR⌉) (Floor); s = stdDev(σ, τ); price = ⌊D·undiscounted(kind, F, K, ln F − ln K, s)⌋
    ///      (the logarithms only when s > 0). Reverts OptionInputOutOfRange(F, K, σ, τ, r) outside the domain.
    function price(OptionKind kind, uint256 forward, uint256 strike, uint256 vol, uint256 tau, uint256 rate)
        internal
        pure
        returns (uint256)
    {
        checkDomain(forward, strike, vol, tau, rate);
        uint256 discount =
            WadMath.expWad(-int256(FixedPointMath.mulDiv(rate, tau, YEAR_S, FixedPointMath.Rounding.Ceil)));
        uint256 sd = stdDev(vol, tau);
        int256 lnRatio = sd == 0 ? int256(0) : WadMath.lnWad(forward) - WadMath.lnWad(strike);
        return FixedPointMath.mulWad(discount, undiscounted(kind, forward, strike, lnRatio, sd), FixedPointMath.Rounding.Floor);
    }

    /// @notice Reverts OptionInputOutOfRange(F, K, σ, τ, r) unless 0 < F, K ≤ 2^128, σ ≤ 10 WAD, τ ≤ 10 years, r ≤ 1 WAD.
    function checkDomain(uint256 forward, uint256 strike, uint256 vol, uint256 tau, uint256 rate) internal pure {
        if (
            forward == 0 || strike == 0 || forward > MAX_PRICE_WAD || strike > MAX_PRICE_WAD || vol > MAX_VOL_WAD
                || tau > MAX_TAU_S || rate > MAX_RATE_WAD
        ) revert OptionInputOutOfRange(forward, strike, vol, tau, rate);
    }

    /// @notice s = σ·√(τ/YEAR) in WAD: ⌊√⌊σ²·τ/YEAR⌋⌋ (Floor twice).
    function stdDev(uint256 vol, uint256 tau) internal pure returns (uint256) {
        return WadMath.sqrt(
            FixedPointMath.mulDiv(vol * vol, tau, YEAR_S, FixedPointMath.Rounding.Floor), FixedPointMath.Rounding.Floor
        );
    }

    /// @notice The undiscounted price from lnRatio = lnWad(F) − lnWad(K) and s = stdDev(σ, τ), Floor.
    /// @dev s = 0: max(F − K, 0) (call), max(K − F, 0) (put). Else d1 = ⌊(lnRatio + ⌊⌊s²/WAD⌋/2⌋)·WAD/s⌋,
    ///      d2 = d1 − s; max(0, ⌊(F·N(d1) − K·N(d2))/WAD⌋) (call) or
    ///      max(0, ⌊(K·(WAD − N(d2)) − F·(WAD − N(d1)))/WAD⌋) (put), exact int256 numerators.
    function undiscounted(OptionKind kind, uint256 forward, uint256 strike, int256 lnRatio, uint256 sd)
        internal
        pure
        returns (uint256)
    {
        if (sd == 0) {
            if (kind == OptionKind.Call) return forward > strike ? forward - strike : 0;
            return strike > forward ? strike - forward : 0;
        }
        int256 halfVar = int256(FixedPointMath.mulWad(sd, sd, FixedPointMath.Rounding.Floor) / 2);
        int256 d1 = FixedPointMath.sDivWad(lnRatio + halfVar, int256(sd), FixedPointMath.Rounding.Floor);
        int256 n1 = int256(WadMath.normCdfWad(d1));
        int256 n2 = int256(WadMath.normCdfWad(d1 - int256(sd)));
        int256 f = int256(forward);
        int256 k = int256(strike);
        int256 numerator = kind == OptionKind.Call
            ? f * n1 - k * n2
            : k * (int256(WAD) - n2) - f * (int256(WAD) - n1);
        int256 q = FixedPointMath.sDivRounded(numerator, int256(WAD), FixedPointMath.Rounding.Floor);
        return q > 0 ? uint256(q) : 0;
    }
}
