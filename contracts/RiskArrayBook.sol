// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";
import {RiskArrays} from "./RiskArrays.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Ownable, Ownable2Step} from "./vendor/OpenZeppelin.sol";

/// @title RiskArrayBook
/// @notice The risk arrays of perps and option series on a perp's oracle, held on chain and
///         recomputed when a keeper updates the mark (docs/spec.md §4.2); option series settle at
///         expiry at the oracle price; portfolio margin of any set of positions is a view.
///         Mirrored by pymargin.riskbook.RiskArrayBook (values and reverts). A separate contract so
///         MarginEngine (near the 24,576-byte limit) can call it.
contract RiskArrayBook is Ownable2Step {
    struct Underlying {
        IPriceOracle oracle;
        uint256 priceRangeWad; // scanning range R, a fraction of the price (≤ WAD)
        uint256 volRangeWad; // relative vol shift V (< WAD)
        uint256 somFractionWad; // short-option minimum per short unit, a fraction of the price (≤ WAD)
        uint256 maxPriceAgeS; // an oracle price, or a mark, older than this is stale (> 0)
        uint256 minVolWad; // the implied vol a keeper may post: [minVolWad, maxVolWad]
        uint256 maxVolWad;
    }

    struct Series {
        uint256 underlyingId;
        RiskArrays.InstrumentKind kind;
        uint256 strikeWad; // options only
        uint256 expiry; // options only: Unix seconds
        uint256 priceWad; // the mark: underlying price and implied vol of the last update
        uint256 volWad;
        uint256 markedAt; // 0 until the first update
        uint256 payoffWad; // options, once settled: max(±(S − K), 0) per long unit
        bool settled;
        int256[16] riskArray;
    }

    error NotKeeper(address account);
    error UnknownUnderlying(uint256 underlyingId);
    error UnknownSeries(uint256 seriesId);
    error InvalidUnderlying();
    error InvalidSeries();
    error InvalidPrice(uint256 underlyingId, int256 priceWad);
    error StalePrice(uint256 underlyingId, uint256 updatedAt, uint256 nowS);
    error SeriesExpired(uint256 seriesId, uint256 expiry);
    error NotExpired(uint256 seriesId, uint256 expiry);
    error NotAnOption(uint256 seriesId);
    error AlreadySettled(uint256 seriesId);
    error PriceBeforeExpiry(uint256 seriesId, uint256 updatedAt, uint256 expiry);
    error NotMarked(uint256 seriesId);
    error StaleMark(uint256 seriesId, uint256 markedAt, uint256 nowS);
    error VolOutOfBounds(uint256 seriesId, uint256 volWad);

    event KeeperSet(address indexed account, bool allowed);
    event UnderlyingAdded(uint256 indexed underlyingId, address oracle);
    event SeriesAdded(uint256 indexed seriesId, uint256 indexed underlyingId, RiskArrays.InstrumentKind kind, uint256 strikeWad, uint256 expiry);
    event MarkUpdated(uint256 indexed seriesId, uint256 priceWad, uint256 volWad, uint256 tauS, int256[16] riskArray);
    event SeriesSettled(uint256 indexed seriesId, uint256 priceWad, uint256 payoffWad);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_PRICE_WAD = 2 ** 128;
    uint256 internal constant MAX_TAU_S = 10 * 365 days;
    uint256 internal constant MAX_VOL_WAD = 10e18; // Black-76's domain

    /// @notice initial margin = ⌈maintenance · imMultipleWad⌉ (≥ WAD).
    uint256 public immutable imMultipleWad;
    mapping(address => bool) public isKeeper;
    Underlying[] private _underlyings;
    Series[] private _series;
    /// @notice The settlement price of every option of an underlying and expiry, fixed by the first
    ///         settle among them (0: none yet), so all of them settle at one price.
    mapping(uint256 underlyingId => mapping(uint256 expiry => uint256)) public settlementPrice;

    constructor(address initialOwner, uint256 imMultiple) Ownable(initialOwner) {
        if (imMultiple < WAD) revert RiskArrays.InitialMultipleBelowOne(imMultiple);
        imMultipleWad = imMultiple;
    }

    // ------------------------------------------------------------------ owner

    function setKeeper(address account, bool allowed) external onlyOwner {
        isKeeper[account] = allowed;
        emit KeeperSet(account, allowed);
    }

    /// @notice Reverts InvalidUnderlying unless R ≤ WAD, V < WAD, som ≤ WAD, maxPriceAgeS > 0 and
    ///         minVol ≤ maxVol with ⌊maxVol·(WAD + V)/WAD⌋ ≤ 10 WAD (every scenario vol in Black-76's domain).
    function addUnderlying(
        IPriceOracle oracle,
        uint256 priceRange,
        uint256 volRange,
        uint256 somFraction,
        uint256 maxPriceAgeS,
        uint256 minVol,
        uint256 maxVol
    ) external onlyOwner returns (uint256 underlyingId) {
        if (
            priceRange > WAD || volRange >= WAD || somFraction > WAD || maxPriceAgeS == 0 || minVol > maxVol
                || maxVol > MAX_VOL_WAD
                || FixedPointMath.mulWad(maxVol, WAD + volRange, FixedPointMath.Rounding.Floor) > MAX_VOL_WAD
        ) revert InvalidUnderlying();
        underlyingId = _underlyings.length;
        _underlyings.push(Underlying(oracle, priceRange, volRange, somFraction, maxPriceAgeS, minVol, maxVol));
        emit UnderlyingAdded(underlyingId, address(oracle));
    }

    /// @notice A perp (strike = expiry = 0) or an option (0 < strike ≤ 2^128, now < expiry ≤ now + 10 years);
    ///         else InvalidSeries.
    function addSeries(uint256 underlyingId, RiskArrays.InstrumentKind kind, uint256 strike, uint256 expiry)
        external
        onlyOwner
        returns (uint256 seriesId)
    {
        if (underlyingId >= _underlyings.length) revert UnknownUnderlying(underlyingId);
        bool valid = kind == RiskArrays.InstrumentKind.Perp
            ? strike == 0 && expiry == 0
            : strike > 0 && strike <= MAX_PRICE_WAD && expiry > block.timestamp && expiry - block.timestamp <= MAX_TAU_S;
        if (!valid) revert InvalidSeries();
        seriesId = _series.length;
        Series storage s = _series.push();
        s.underlyingId = underlyingId;
        s.kind = kind;
        s.strikeWad = strike;
        s.expiry = expiry;
        emit SeriesAdded(seriesId, underlyingId, kind, strike, expiry);
    }

    // ------------------------------------------------------------------ keepers and anyone

    /// @notice Keeper: read the underlying's price, take `volWad` as the implied vol, recompute and
    ///         store the series' risk array (τ = expiry − now). Reverts SeriesExpired at or after expiry,
    ///         VolOutOfBounds outside the underlying's [minVolWad, maxVolWad].
    function updateMark(uint256 seriesId, uint256 volWad) external {
        if (!isKeeper[msg.sender]) revert NotKeeper(msg.sender);
        Series storage s = _seriesAt(seriesId);
        bool option = s.kind != RiskArrays.InstrumentKind.Perp;
        if (option && block.timestamp >= s.expiry) revert SeriesExpired(seriesId, s.expiry);
        Underlying storage u = _underlyings[s.underlyingId];
        if (volWad < u.minVolWad || volWad > u.maxVolWad) revert VolOutOfBounds(seriesId, volWad);
        (uint256 price,) = _price(s.underlyingId, u);
        uint256 tau = option ? s.expiry - block.timestamp : 0;
        int256[16] memory array =
            RiskArrays.riskArray(s.kind, s.strikeWad, tau, price, volWad, u.priceRangeWad, u.volRangeWad);
        s.riskArray = array;
        s.priceWad = price;
        s.volWad = volWad;
        s.markedAt = block.timestamp;
        emit MarkUpdated(seriesId, price, volWad, tau, array);
    }

    /// @notice Anyone, at or after expiry: settle an option at the oracle price, which must be as of
    ///         expiry or later; payoff per long unit = max(S − K, 0) (call) or max(K − S, 0) (put).
    function settle(uint256 seriesId) external {
        Series storage s = _seriesAt(seriesId);
        if (s.kind == RiskArrays.InstrumentKind.Perp) revert NotAnOption(seriesId);
        if (s.settled) revert AlreadySettled(seriesId);
        if (block.timestamp < s.expiry) revert NotExpired(seriesId, s.expiry);
        uint256 price = settlementPrice[s.underlyingId][s.expiry];
        if (price == 0) {
            uint256 updatedAt;
            (price, updatedAt) = _price(s.underlyingId, _underlyings[s.underlyingId]);
            if (updatedAt < s.expiry) revert PriceBeforeExpiry(seriesId, updatedAt, s.expiry);
            settlementPrice[s.underlyingId][s.expiry] = price;
        }
        uint256 k = s.strikeWad;
        uint256 payoff = s.kind == RiskArrays.InstrumentKind.Call ? (price > k ? price - k : 0) : (k > price ? k - price : 0);
        s.settled = true;
        s.payoffWad = payoff;
        emit SeriesSettled(seriesId, price, payoff);
    }

    // ------------------------------------------------------------------ views

    function underlyingCount() external view returns (uint256) {
        return _underlyings.length;
    }

    function seriesCount() external view returns (uint256) {
        return _series.length;
    }

    function underlying(uint256 underlyingId) external view returns (Underlying memory) {
        if (underlyingId >= _underlyings.length) revert UnknownUnderlying(underlyingId);
        return _underlyings[underlyingId];
    }

    function series(uint256 seriesId) external view returns (Series memory) {
        return _seriesAt(seriesId);
    }

    /// @notice Portfolio maintenance margin of positions `sizes[i]` in `seriesIds[i]`: per underlying
    ///         (in order of first appearance) RiskArrays.maintenanceMargin of its positions, summed.
    ///         Reverts LengthMismatch, then per series UnknownSeries, NotMarked, StaleMark (a mark older
    ///         than the underlying's maxPriceAgeS: arrays are P&L from the marked price).
    function maintenanceMargin(uint256[] calldata seriesIds, int256[] calldata sizes) public view returns (uint256 total) {
        if (seriesIds.length != sizes.length) revert RiskArrays.LengthMismatch();
        uint256 n = seriesIds.length;
        for (uint256 i; i < n; ++i) {
            Series storage first = _marked(seriesIds[i]);
            uint256 uid = first.underlyingId;
            bool seen;
            uint256 count;
            for (uint256 j; j < n; ++j) {
                uint256 other = _marked(seriesIds[j]).underlyingId;
                if (other == uid) {
                    if (j < i) seen = true;
                    ++count;
                }
            }
            if (seen) continue;
            total += _underlyingMargin(uid, seriesIds, sizes, count);
        }
    }

    /// @notice ⌈maintenanceMargin · imMultipleWad / WAD⌉.
    function initialMargin(uint256[] calldata seriesIds, int256[] calldata sizes) external view returns (uint256) {
        return FixedPointMath.mulWad(maintenanceMargin(seriesIds, sizes), imMultipleWad, FixedPointMath.Rounding.Ceil);
    }

    // ------------------------------------------------------------------ private

    function _underlyingMargin(uint256 uid, uint256[] calldata seriesIds, int256[] calldata sizes, uint256 count)
        private
        view
        returns (uint256)
    {
        int256[] memory groupSizes = new int256[](count);
        int256[16][] memory arrays = new int256[16][](count);
        uint256[] memory som = new uint256[](count);
        Underlying storage u = _underlyings[uid];
        uint256 k;
        for (uint256 j; j < seriesIds.length; ++j) {
            Series storage s = _series[seriesIds[j]];
            if (s.underlyingId != uid) continue;
            groupSizes[k] = sizes[j];
            arrays[k] = s.riskArray;
            som[k] = RiskArrays.shortOptionMinimum(s.kind, s.priceWad, u.somFractionWad);
            ++k;
        }
        return RiskArrays.maintenanceMargin(groupSizes, arrays, som);
    }

    function _seriesAt(uint256 seriesId) private view returns (Series storage) {
        if (seriesId >= _series.length) revert UnknownSeries(seriesId);
        return _series[seriesId];
    }

    /// @dev The series, marked and fresh: NotMarked, or StaleMark when now − markedAt > maxPriceAgeS.
    function _marked(uint256 seriesId) private view returns (Series storage s) {
        s = _seriesAt(seriesId);
        if (s.markedAt == 0) revert NotMarked(seriesId);
        if (block.timestamp - s.markedAt > _underlyings[s.underlyingId].maxPriceAgeS) {
            revert StaleMark(seriesId, s.markedAt, block.timestamp);
        }
    }

    /// @dev The oracle's price, checked: InvalidPrice unless 0 < price ≤ 2^128; StalePrice when
    ///      now > updatedAt + maxPriceAgeS.
    function _price(uint256 underlyingId, Underlying storage u) private view returns (uint256, uint256) {
        (int256 price, uint256 updatedAt) = u.oracle.latestPrice();
        if (price <= 0 || uint256(price) > MAX_PRICE_WAD) revert InvalidPrice(underlyingId, price);
        if (block.timestamp > updatedAt && block.timestamp - updatedAt > u.maxPriceAgeS) {
            revert StalePrice(underlyingId, updatedAt, block.timestamp);
        }
        return (uint256(price), updatedAt);
    }
}
