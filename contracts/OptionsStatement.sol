// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPoseidon4} from "./commit/InclusionVerifier.sol";
import {IOptionsCheckpoints} from "./interfaces/IOptionsCheckpoints.sol";

/// @notice circomlibjs's generated Poseidon(2), Poseidon(3) and Poseidon(8) contracts.
interface IPoseidon2 {
    function poseidon(uint256[2] memory input) external pure returns (uint256);
}

interface IPoseidon3 {
    function poseidon(uint256[3] memory input) external pure returns (uint256);
}

interface IPoseidon8 {
    function poseidon(uint256[8] memory input) external pure returns (uint256);
}

/// @title OptionsStatement
/// @notice The options part of the solvency statement over a book with options (docs/spec.md §7.9,
/// pymargin.zk.options.option_tables_from_checkpoint), recomputed from an options checkpoint's data for a
/// circuit of U underlyings × R rows and P option slots: one row per series of the data (underlyings by
/// increasing id take blocks 0, 1, …; their series by increasing id fill the block's rows), a settled row
/// with array 0, som 0 and v = its payoff, any other its recorded array, som and value; the perp row of each
/// engine market; the IM multiple. Returns optionsHash and the hash of the per-row (long, short) sums, which
/// are the data's longSizeWad and shortSizeWad (0 for an unused row).
contract OptionsStatement {
    error NotAContract(address account);
    error OptionsShapeOutOfRange(uint256 underlyings, uint256 rows, uint256 optionSlots);
    error TooManyUnderlyings(uint256 underlyings, uint256 circuitUnderlyings);
    error TooManySeries(uint256 underlyingId, uint256 rows);
    error SeriesNotIncreasing(uint256 seriesId);
    error UnmappedMarket(uint256 marketId);
    error PerpSeriesMissing(uint256 seriesId);
    error OptionTableOutOfRange(uint256 seriesId, int256 value);
    error MultipleOutOfRange(uint256 multipleWad);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant TABLE_BOUND = 1 << 130; // |array| ≤ 2^130; som, v < 2^130 (the circuit's range checks)
    uint256 internal constant MULTIPLE_SPAN = 1 << 64; // WAD ≤ multiple < WAD + 2^64
    uint256 public constant MAX_ROWS = 256;

    IPoseidon2 public immutable poseidon2;
    IPoseidon3 public immutable poseidon3;
    IPoseidon4 public immutable poseidon4;
    IPoseidon8 public immutable poseidon8;
    /// @notice The circuit's U (underlyings), R (rows per underlying) and P (option slots per account).
    uint256 public immutable underlyings;
    uint256 public immutable rowsPerUnderlying;
    uint256 public immutable optionSlots;
    /// @dev Poseidon_4(0, U, R, P) (§7.8's riskHash shape part with B = 0) and Poseidon_8 of a zero half-array.
    uint256 internal immutable _shapePart;
    uint256 internal immutable _zeroHalf;

    constructor(IPoseidon2 p2, IPoseidon3 p3, IPoseidon4 p4, IPoseidon8 p8, uint256 u, uint256 r, uint256 p) {
        address[4] memory hashers = [address(p2), address(p3), address(p4), address(p8)];
        for (uint256 i; i < 4; ++i) {
            if (hashers[i].code.length == 0) revert NotAContract(hashers[i]);
        }
        if (u == 0 || r == 0 || p == 0 || u > MAX_ROWS || r > MAX_ROWS || u * r > MAX_ROWS || p > 16) {
            revert OptionsShapeOutOfRange(u, r, p);
        }
        (poseidon2, poseidon3, poseidon4, poseidon8) = (p2, p3, p4, p8);
        (underlyings, rowsPerUnderlying, optionSlots) = (u, r, p);
        _shapePart = p4.poseidon([uint256(0), u, r, p]);
        uint256 h = TABLE_BOUND;
        _zeroHalf = p8.poseidon([h, h, h, h, h, h, h, h]);
    }

    /// @notice (optionsHash, seriesAggHash) of `data` for an engine with `marketCount` markets and a circuit of
    /// `circuitMarkets` market slots: optionsHash = Poseidon_3(riskHash, marksHash, perpHash), seriesAggHash = a_N.
    function optionsHashes(IOptionsCheckpoints.OptionsCheckpointData calldata data, uint256 marketCount, uint256 circuitMarkets)
        external
        view
        returns (uint256 optionsHash, uint256 seriesAggHash)
    {
        if (data.imMultipleWad < WAD || data.imMultipleWad - WAD >= MULTIPLE_SPAN) revert MultipleOutOfRange(data.imMultipleWad);
        uint256[] memory rowOf = _rows(data.series);
        uint256 n = underlyings * rowsPerUnderlying;
        uint256[] memory indexOfRow = new uint256[](n); // series index + 1, 0: unused row
        for (uint256 i; i < rowOf.length; ++i) {
            indexOfRow[rowOf[i]] = i + 1;
        }
        uint256 risk;
        uint256 marks;
        for (uint256 row; row < n; ++row) {
            uint256 idx = indexOfRow[row];
            if (idx == 0) {
                risk = poseidon4.poseidon([risk, 0, _zeroHalf, _zeroHalf]);
                marks = poseidon3.poseidon([marks, 0, 0]);
                seriesAggHash = poseidon3.poseidon([seriesAggHash, 0, 0]);
                continue;
            }
            IOptionsCheckpoints.SeriesSnapshot calldata s = data.series[idx - 1];
            if (s.valueWad >= TABLE_BOUND) revert OptionTableOutOfRange(s.seriesId, int256(s.valueWad));
            if (s.settled) {
                risk = poseidon4.poseidon([risk, 0, _zeroHalf, _zeroHalf]);
            } else {
                if (s.somWad >= TABLE_BOUND) revert OptionTableOutOfRange(s.seriesId, int256(s.somWad));
                risk = poseidon4.poseidon([risk, s.somWad, _half(s, 0), _half(s, 8)]);
            }
            marks = poseidon3.poseidon([marks, s.seriesId + 1, s.valueWad]);
            seriesAggHash = poseidon3.poseidon([seriesAggHash, s.longSizeWad, s.shortSizeWad]);
        }
        risk = poseidon3.poseidon([_shapePart, data.imMultipleWad, risk]);
        optionsHash = poseidon3.poseidon([risk, marks, _perpHash(data, rowOf, marketCount, circuitMarkets)]);
    }

    /// @dev The row of each series of `series` (strictly increasing ids, else SeriesNotIncreasing).
    function _rows(IOptionsCheckpoints.SeriesSnapshot[] calldata series) private view returns (uint256[] memory rowOf) {
        uint256 count = series.length;
        rowOf = new uint256[](count);
        uint256[] memory ids = new uint256[](count); // distinct underlying ids, increasing
        uint256 distinct;
        for (uint256 i; i < count; ++i) {
            if (i > 0 && series[i].seriesId <= series[i - 1].seriesId) revert SeriesNotIncreasing(series[i].seriesId);
            uint256 uid = series[i].underlyingId;
            uint256 at;
            while (at < distinct && ids[at] < uid) ++at;
            if (at == distinct || ids[at] != uid) {
                for (uint256 j = distinct; j > at; --j) ids[j] = ids[j - 1];
                ids[at] = uid;
                ++distinct;
            }
        }
        if (distinct > underlyings) revert TooManyUnderlyings(distinct, underlyings);
        uint256[] memory filled = new uint256[](distinct);
        for (uint256 i; i < count; ++i) {
            uint256 block_;
            while (ids[block_] != series[i].underlyingId) ++block_;
            if (filled[block_] == rowsPerUnderlying) revert TooManySeries(series[i].underlyingId, rowsPerUnderlying);
            rowOf[i] = block_ * rowsPerUnderlying + filled[block_]++;
        }
    }

    /// @dev Poseidon_8(array[from .. from + 7] + 2^130); OptionTableOutOfRange unless |entry| ≤ 2^130.
    function _half(IOptionsCheckpoints.SeriesSnapshot calldata s, uint256 from) private view returns (uint256) {
        uint256[8] memory shifted;
        for (uint256 i; i < 8; ++i) {
            int256 v = s.riskArray[from + i];
            if (v > int256(TABLE_BOUND) || v < -int256(TABLE_BOUND)) revert OptionTableOutOfRange(s.seriesId, v);
            shifted[i] = uint256(v + int256(TABLE_BOUND));
        }
        return poseidon8.poseidon(shifted);
    }

    /// @dev h_M: h_{j+1} = Poseidon_2(h_j, row of market j's perp series), 0 past the market count; the data must
    /// map exactly markets 0 .. marketCount − 1, in order (UnmappedMarket), to series it holds (PerpSeriesMissing).
    function _perpHash(
        IOptionsCheckpoints.OptionsCheckpointData calldata data,
        uint256[] memory rowOf,
        uint256 marketCount,
        uint256 circuitMarkets
    ) private view returns (uint256 h) {
        IOptionsCheckpoints.PerpMapping[] calldata perps = data.perps;
        for (uint256 j; j < marketCount; ++j) {
            if (j >= perps.length || perps[j].marketId != j) revert UnmappedMarket(j);
        }
        if (perps.length > marketCount) revert UnmappedMarket(perps[marketCount].marketId);
        for (uint256 j; j < circuitMarkets; ++j) {
            uint256 row;
            if (j < marketCount) {
                uint256 i;
                while (i < rowOf.length && data.series[i].seriesId != perps[j].seriesId) ++i;
                if (i == rowOf.length) revert PerpSeriesMissing(perps[j].seriesId);
                row = rowOf[i];
            }
            h = poseidon2.poseidon([h, row]);
        }
    }
}
