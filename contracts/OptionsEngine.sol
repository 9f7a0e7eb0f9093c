// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";
import {MarginMath} from "./MarginMath.sol";
import {Black76} from "./Black76.sol";
import {RiskArrays} from "./RiskArrays.sol";
import {RiskArrayBook} from "./RiskArrayBook.sol";
import {MarginEngine} from "./MarginEngine.sol";
import {IOptionsModule} from "./interfaces/IOptionsModule.sol";
import {Ownable, Ownable2Step, EIP712, SignatureChecker} from "./vendor/OpenZeppelin.sol";

/// @title OptionsEngine
/// @notice European cash-settled options of a RiskArrayBook traded between the cross accounts
///         (sub 0) of a MarginEngine, on its collateral (docs/spec.md §5.13): fills of two EIP-712
///         orders signed by their owners (the engine's Order type, this contract's domain, marketId =
///         the series id), the premium moving between the two accounts; at expiry, once the book has
///         settled the series, anyone settles a position: it pays size × payoff and closes. The engine
///         margins a cross account holding options by portfolioMargin; anyone with a cross account
///         liquidates an option position of an account below its maintenance margin at the series' mark
///         value, for a capped penalty. checkpoint() takes the engine's checkpoint and records the options
///         book (series tables, per-series long and short sizes) in the same transaction. Mirrored bit for
///         bit, reverts included, by pymargin.engine.options.OptionsEngine.
/// @dev A separate contract because MarginEngine is at the 24,576-byte limit. Units as the engine's:
///      sizes WAD base units (long > 0), premiums WAD quote per base unit, amounts WAD quote.
contract OptionsEngine is Ownable2Step, EIP712, IOptionsModule {
    /// @notice Option positions per account.
    uint256 public constant MAX_OPTION_POSITIONS = 4;
    int256 internal constant SIZE_BOUND = 2 ** 94; // |size| < 2^94
    uint256 internal constant PREMIUM_BOUND = 2 ** 94; // premium per unit < 2^94
    uint256 internal constant WAD = 1e18;
    int256 internal constant WAD_I = 1e18;
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint256 sub,uint256 marketId,int256 sizeWad,uint256 limitPriceWad,uint256 maxFeeWad,uint256 nonce,uint256 expiry)"
    );

    /// @notice The engine whose cross accounts trade and whose collateral moves.
    MarginEngine public immutable engine;
    /// @notice The book of series, marks, risk arrays and settlement prices.
    RiskArrayBook public immutable book;
    /// @notice A fill's premium must lie within the option's mark value ± premiumBandWad × the mark price.
    uint256 public immutable premiumBandWad;

    mapping(address => bool) public isOperator;
    /// @dev 1 + the book's perp series of an engine market (0: not mapped).
    mapping(uint256 => uint256) private _perpSeriesPlusOne;
    /// @dev The series of an owner's open option positions, in opening order (swap-and-pop removal).
    mapping(address => uint256[]) private _seriesIds;
    /// @notice Size of owner's position in a series (WAD base units, long > 0).
    mapping(address => mapping(uint256 => int256)) public optionSize;
    /// @notice Σ max(size, 0) over every position in a series (long size, WAD base units).
    mapping(uint256 => uint256) public openInterest;
    /// @notice Σ max(−size, 0) over every position in a series: equal to openInterest until the book
    ///         settles the series, after which positions settle (close) one by one.
    mapping(uint256 => uint256) public shortInterest;
    /// @notice Settlement remainders not yet paid to the fees, WAD² (< WAD; spec §5.13).
    uint256 public settlementDustWad2;
    mapping(bytes32 => uint256) public filledSize;
    mapping(bytes32 => bool) public isCancelled;
    mapping(address => uint256) public minNonce;
    /// @dev keccak256(abi.encode(OptionsCheckpointData)) and block number of options checkpoint id = index + 1.
    bytes32[] private _checkpointHashes;
    uint256[] private _checkpointBlocks;
    /// @dev openPositionCount at options checkpoint id = index + 1.
    uint256[] private _checkpointPositionCounts;
    /// @notice Open option positions (owner, series) with a non-zero size.
    uint256 public openPositionCount;
    /// @dev The options checkpoint taken with an engine checkpoint (0: none).
    mapping(uint256 => uint256) private _checkpointOfEngine;
    /// @notice Liquidation penalty as a fraction of the underlying notional |size|·markPrice (WAD, ≤ 1).
    uint256 public liquidationPenaltyWad = WAD / 50;
    /// @notice Share of a liquidation penalty that goes to the engine's insurance fund (WAD, ≤ 1).
    uint256 public insuranceShareWad = WAD / 2;

    /// @notice One series of the book at a checkpoint, with the module's aggregates (spec §5.13).
    struct SeriesSnapshot {
        uint256 seriesId;
        uint256 underlyingId;
        RiskArrays.InstrumentKind kind;
        uint256 strikeWad;
        uint256 expiry;
        uint256 priceWad; // the mark: price, vol, time
        uint256 volWad;
        uint256 markedAt;
        int256[16] riskArray;
        uint256 somWad; // short-option minimum per short unit at the mark (Ceil; 0 for a perp)
        uint256 valueWad; // per long unit: markValue (payoff once settled, else Black-76 at the mark, Floor); 0 for a perp
        bool settled;
        uint256 longSizeWad; // openInterest
        uint256 shortSizeWad; // shortInterest
    }

    /// @notice An engine market and the book's perp series it is mapped to.
    struct PerpMapping {
        uint256 marketId;
        uint256 seriesId;
    }

    /// @notice The options book at an engine checkpoint, taken in the same transaction (only its keccak256
    ///         is stored; the data is in the event).
    struct OptionsCheckpointData {
        uint256 engineCheckpointId;
        uint256 blockNumber;
        uint256 timestamp;
        SeriesSnapshot[] series; // every series of the book but the settled ones without positions, by id
        PerpMapping[] perps; // every mapped engine market, by market id
        uint256 imMultipleWad;
    }

    error NotOperator(address account);
    error NotKeeper(address account);
    error UnknownCheckpoint(uint256 id);
    error InvalidPerpSeries(uint256 marketId, uint256 seriesId);
    error UnmappedMarket(uint256 marketId);
    error NotAnOption(uint256 seriesId);
    error SeriesExpired(uint256 seriesId, uint256 expiry);
    error NotMarked(uint256 seriesId);
    error NotSettled(uint256 seriesId);
    error CrossAccountOnly(uint256 sub);
    error SizeOutOfBounds(int256 sizeWad);
    error SelfTrade(address owner, uint256 sub);
    error MarketMismatch(uint256 takerMarketId, uint256 makerMarketId);
    error EnforcedPause();
    error PremiumOutsideBand(uint256 seriesId, uint256 premiumWad, uint256 valueWad);
    error TooManyPositions(address owner, uint256 sub, uint256 maxPositions);
    error NoPosition(address owner, uint256 sub, uint256 marketId);
    error InsufficientMargin(address owner, uint256 sub, int256 equityWad, uint256 initialMarginWad);
    error NegativeEquity(address owner, uint256 sub, int256 equityWad);
    error MarginHealthDecreased(
        address owner,
        uint256 sub,
        int256 equityBeforeWad,
        uint256 maintenanceBeforeWad,
        int256 equityAfterWad,
        uint256 maintenanceAfterWad
    );
    error InvalidSignature(address owner, bytes32 digest);
    error CancelledOrder(bytes32 digest);
    error NonceTooLow(bytes32 digest, uint256 nonce, uint256 minNonce);
    error OrderExpired(bytes32 digest, uint256 expiry, uint256 nowS);
    error WrongSide(bytes32 digest, int256 orderSizeWad, int256 fillSizeWad);
    error OrderOverfill(bytes32 digest, uint256 filledWad, uint256 fillWad, uint256 orderSizeWad);
    error LimitPriceExceeded(bytes32 digest, uint256 priceWad, uint256 limitPriceWad);
    error NotOrderOwner(address account, address owner);
    error NonceNotIncreasing(uint256 minNonce, uint256 nonce);
    error InvalidLiquidationParams(uint256 penaltyWad, uint256 insuranceShareWad);
    error SelfLiquidation(address owner, uint256 sub);
    error UnknownAccount(address owner, uint256 sub);
    error InvalidLiquidationSize(int256 sizeWad, int256 positionSizeWad);
    error NotLiquidatable(address owner, uint256 sub, int256 equityWad, uint256 maintenanceMarginWad);
    error LiquidationTooSmall(address owner, uint256 sub, int256 equityWad, uint256 maintenanceMarginWad);

    event OperatorSet(address indexed account, bool allowed);
    event PerpMapped(uint256 indexed marketId, uint256 indexed seriesId);
    event OptionTraded(
        uint256 indexed seriesId,
        address takerOwner,
        address makerOwner,
        int256 sizeWad,
        uint256 premiumWad,
        uint256 paidWad,
        uint256 receivedWad
    );
    event OptionSettled(
        address indexed owner, uint256 indexed seriesId, int256 sizeWad, uint256 payoffWad, int256 amountWad, uint256 feeWad
    );
    event OrderFilled(bytes32 indexed digest, address indexed owner, uint256 fillWad, uint256 filledWad);
    event OrderCancelled(bytes32 indexed digest, address indexed owner);
    event MinNonceRaised(address indexed owner, uint256 minNonce);
    event OptionsCheckpointTaken(uint256 indexed id, uint256 indexed engineCheckpointId, OptionsCheckpointData data);
    event LiquidationParamsSet(uint256 penaltyWad, uint256 insuranceShareWad);
    event OptionLiquidated(
        uint256 indexed seriesId,
        address indexed owner,
        address indexed liquidator,
        int256 sizeWad,
        uint256 valueWad,
        uint256 paidWad,
        uint256 receivedWad,
        uint256 penaltyWad,
        uint256 insuranceWad
    );

    /// @dev An account's equity and maintenance margin before a fill.
    struct Health {
        int256 equityWad;
        uint256 maintenanceWad;
    }

    constructor(MarginEngine engine_, RiskArrayBook book_, uint256 premiumBand, address initialOwner)
        Ownable(initialOwner)
        EIP712("pymargin OptionsEngine", "1")
    {
        engine = engine_;
        book = book_;
        premiumBandWad = premiumBand;
    }

    // ------------------------------------------------------------------ owner

    function setOperator(address account, bool allowed) external onlyOwner {
        isOperator[account] = allowed;
        emit OperatorSet(account, allowed);
    }

    /// @notice Set the liquidation penalty fraction and the insurance share of a penalty (each ≤ WAD, else
    ///         InvalidLiquidationParams).
    function setLiquidationParams(uint256 penaltyWad, uint256 shareWad) external onlyOwner {
        if (penaltyWad > WAD || shareWad > WAD) revert InvalidLiquidationParams(penaltyWad, shareWad);
        liquidationPenaltyWad = penaltyWad;
        insuranceShareWad = shareWad;
        emit LiquidationParamsSet(penaltyWad, shareWad);
    }

    /// @notice Map engine market `marketId` to the book's perp series `seriesId`, once; the series must be
    ///         a perp on the market's oracle (else InvalidPerpSeries). UnknownMarket / UnknownSeries /
    ///         UnknownUnderlying come from the engine and the book.
    function mapPerp(uint256 marketId, uint256 seriesId) external onlyOwner {
        (address oracle,,,,,) = engine.marketState(marketId);
        RiskArrayBook.Series memory s = book.series(seriesId);
        if (
            _perpSeriesPlusOne[marketId] != 0 || s.kind != RiskArrays.InstrumentKind.Perp
                || address(book.underlying(s.underlyingId).oracle) != oracle
        ) revert InvalidPerpSeries(marketId, seriesId);
        _perpSeriesPlusOne[marketId] = seriesId + 1;
        emit PerpMapped(marketId, seriesId);
    }

    // ------------------------------------------------------------------ operator: fills

    /// @notice Operator: fill two signed orders in option series taker.marketId; the taker's gets `sizeWad`,
    ///         the maker's −sizeWad, at `premiumWad` per unit; the buyer pays ⌈|size|·premium / WAD⌉, the
    ///         seller receives ⌊|size|·premium / WAD⌋, the difference goes to the engine's fees.
    /// @dev Order: NotOperator, UnknownSeries (book), NotAnOption, SeriesExpired (now ≥ expiry),
    ///      SizeOutOfBounds, SelfTrade, MarketMismatch, CrossAccountOnly (taker's sub, maker's), the taker's
    ///      order then the maker's, EnforcedPause (engine paused and a side's risk grows), NotMarked,
    ///      PremiumOutsideBand, health before (each side's engine markets accrued, taker first), both
    ///      positions, the premium, then the fill-health rule per side, taker first (spec §5.3, §5.13).
    function trade(
        MarginEngine.Order calldata taker,
        bytes calldata takerSig,
        MarginEngine.Order calldata maker,
        bytes calldata makerSig,
        int256 sizeWad,
        uint256 premiumWad
    ) external {
        if (!isOperator[msg.sender]) revert NotOperator(msg.sender);
        uint256 seriesId = taker.marketId;
        RiskArrayBook.Series memory s = book.series(seriesId);
        if (s.kind == RiskArrays.InstrumentKind.Perp) revert NotAnOption(seriesId);
        if (block.timestamp >= s.expiry) revert SeriesExpired(seriesId, s.expiry);
        if (sizeWad == 0 || sizeWad <= -SIZE_BOUND || sizeWad >= SIZE_BOUND) revert SizeOutOfBounds(sizeWad);
        if (taker.owner == maker.owner) revert SelfTrade(taker.owner, taker.sub);
        if (maker.marketId != seriesId) revert MarketMismatch(seriesId, maker.marketId);
        if (taker.sub != 0) revert CrossAccountOnly(taker.sub);
        if (maker.sub != 0) revert CrossAccountOnly(maker.sub);
        _checkOrder(taker, takerSig, sizeWad, premiumWad);
        _checkOrder(maker, makerSig, -sizeWad, premiumWad);
        _fillBoth(seriesId, s, taker.owner, maker.owner, sizeWad, premiumWad);
    }

    function cancelOrder(MarginEngine.Order calldata order) external {
        if (msg.sender != order.owner) revert NotOrderOwner(msg.sender, order.owner);
        bytes32 digest = _orderDigest(order);
        isCancelled[digest] = true;
        emit OrderCancelled(digest, msg.sender);
    }

    function cancelOrdersBelow(uint256 nonce) external {
        uint256 current = minNonce[msg.sender];
        if (nonce <= current) revert NonceNotIncreasing(current, nonce);
        minNonce[msg.sender] = nonce;
        emit MinNonceRaised(msg.sender, nonce);
    }

    // ------------------------------------------------------------------ anyone: expiry

    /// @notice Settle owner's position in a series the book has settled (anyone, also while the engine is
    ///         paused): X = size·payoff (WAD², exact); the account gets ⌊X / WAD⌋ (signed Floor: a short pays
    ///         the Ceil of its debt); the remainder X − ⌊X / WAD⌋·WAD joins settlementDustWad2, whose whole
    ///         WADs go to the engine's fees. Order: NoPosition, UnknownSeries (book), NotSettled.
    function settle(address owner, uint256 seriesId) external {
        int256 size = optionSize[owner][seriesId];
        if (size == 0) revert NoPosition(owner, 0, seriesId);
        RiskArrayBook.Series memory s = book.series(seriesId);
        if (!s.settled) revert NotSettled(seriesId);
        int256 x = size * int256(s.payoffWad);
        int256 amount = FixedPointMath.sDivRounded(x, WAD_I, FixedPointMath.Rounding.Floor);
        uint256 dust = settlementDustWad2 + uint256(x - amount * WAD_I);
        settlementDustWad2 = dust % WAD;
        _setSize(owner, seriesId, size, 0);
        engine.adjustCollateral(owner, amount, dust / WAD);
        emit OptionSettled(owner, seriesId, size, s.payoffWad, amount, dust / WAD);
    }

    // ------------------------------------------------------------------ keepers: checkpoint

    /// @notice Operator of this module or keeper of the book (NotKeeper otherwise; allowed while paused):
    ///         take an engine checkpoint (engine.checkpoint(), this module needs the engine's keeper role)
    ///         and, in the same transaction, record the options book as OptionsCheckpointData: store its
    ///         keccak256 and block number, emit it in full (spec §5.13 Checkpoint).
    /// @return id the new options checkpoint's id, optionsCheckpointCount() afterwards (1, 2, 3, ...).
    function checkpoint() external returns (uint256 id) {
        if (!isOperator[msg.sender] && !book.isKeeper(msg.sender)) revert NotKeeper(msg.sender);
        OptionsCheckpointData memory data;
        data.engineCheckpointId = engine.checkpoint();
        data.blockNumber = block.number;
        data.timestamp = block.timestamp;
        data.series = _seriesSnapshots();
        data.perps = _perpMappings();
        data.imMultipleWad = book.imMultipleWad();
        id = _checkpointHashes.length + 1;
        _checkpointHashes.push(keccak256(abi.encode(data)));
        _checkpointBlocks.push(block.number);
        _checkpointPositionCounts.push(openPositionCount);
        _checkpointOfEngine[data.engineCheckpointId] = id;
        emit OptionsCheckpointTaken(id, data.engineCheckpointId, data);
    }

    // ------------------------------------------------------------------ anyone: liquidation

    /// @notice The caller's cross account takes over `sizeWad` (same sign as the position, |size| ≤ |position|)
    ///         of owner's position in an unexpired series while owner's cross account has equity < maintenance
    ///         margin (engine.margins), at the series' mark value v: for each unit moved the buyer pays
    ///         ⌈|size|·v / WAD⌉, the seller receives ⌊|size|·v / WAD⌋ (the difference to the engine's fees).
    ///         Then owner pays penalty = min(⌈|size|·markPrice·liquidationPenalty / WAD²⌉, max(E, 0)), E its
    ///         equity after the transfer; ⌊penalty·insuranceShare / WAD⌋ goes to the insurance fund, the
    ///         rest to the liquidator (spec §5.13 Liquidation).
    /// @dev Order: EnforcedPause, UnknownSeries (book), NotAnOption, SeriesExpired, SelfLiquidation,
    ///      UnknownAccount (caller's cross account), NoPosition, InvalidLiquidationSize, owner's engine markets
    ///      accrued, NotLiquidatable (NotMarked / StaleMark from the book), the transfer (TooManyPositions),
    ///      the penalty, LiquidationTooSmall (position left open and E < MM), the caller's markets accrued
    ///      and InsufficientMargin (E < IM); OptionLiquidated.
    function liquidate(address owner, uint256 seriesId, int256 sizeWad) external {
        if (engine.paused()) revert EnforcedPause();
        RiskArrayBook.Series memory s = book.series(seriesId);
        if (s.kind == RiskArrays.InstrumentKind.Perp) revert NotAnOption(seriesId);
        if (block.timestamp >= s.expiry) revert SeriesExpired(seriesId, s.expiry);
        if (msg.sender == owner) revert SelfLiquidation(owner, 0);
        (bool exists,,,) = engine.accountState(msg.sender, 0);
        if (!exists) revert UnknownAccount(msg.sender, 0);
        int256 positionOld = optionSize[owner][seriesId];
        if (positionOld == 0) revert NoPosition(owner, 0, seriesId);
        if (sizeWad == 0 || (sizeWad > 0) != (positionOld > 0) || _abs(sizeWad) > _abs(positionOld)) {
            revert InvalidLiquidationSize(sizeWad, positionOld);
        }
        Health memory before = _accruedHealth(owner);
        if (before.equityWad >= int256(before.maintenanceWad)) {
            revert NotLiquidatable(owner, 0, before.equityWad, before.maintenanceWad);
        }
        _liquidateTransfer(owner, seriesId, s, positionOld, sizeWad);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of options checkpoints taken (ids 1 .. optionsCheckpointCount()).
    function optionsCheckpointCount() external view returns (uint256) {
        return _checkpointHashes.length;
    }

    /// @notice keccak256(abi.encode(data)) of options checkpoint `id` (UnknownCheckpoint unless 1 ≤ id ≤ count).
    function optionsCheckpointHash(uint256 id) external view returns (bytes32) {
        return _checkpointHashes[_checkpointIndex(id)];
    }

    /// @notice The block options checkpoint `id` was taken in (UnknownCheckpoint unless 1 ≤ id ≤ count).
    function optionsCheckpointBlock(uint256 id) external view returns (uint256) {
        return _checkpointBlocks[_checkpointIndex(id)];
    }

    /// @notice Open option positions at options checkpoint `id` (UnknownCheckpoint unless 1 ≤ id ≤ count):
    ///         0 means its book holds no option, so a perp-only solvency statement covers it (spec §7.5).
    function optionsCheckpointPositionCount(uint256 id) external view returns (uint256) {
        return _checkpointPositionCounts[_checkpointIndex(id)];
    }

    /// @notice The options checkpoint taken with engine checkpoint `engineCheckpointId`
    ///         (UnknownCheckpoint(engineCheckpointId) if it was taken without this module).
    function optionsCheckpointOf(uint256 engineCheckpointId) external view returns (uint256 id) {
        id = _checkpointOfEngine[engineCheckpointId];
        if (id == 0) revert UnknownCheckpoint(engineCheckpointId);
    }

    /// @notice The engine market's perp series in the book (UnmappedMarket if none).
    function perpSeries(uint256 marketId) public view returns (uint256) {
        uint256 plusOne = _perpSeriesPlusOne[marketId];
        if (plusOne == 0) revert UnmappedMarket(marketId);
        return plusOne - 1;
    }

    /// @notice The series of owner's open option positions, in opening order.
    function optionSeries(address owner) external view returns (uint256[] memory) {
        return _seriesIds[owner];
    }

    /// @notice The EIP-712 digest of `order` under this contract's domain.
    function orderDigest(MarginEngine.Order calldata order) external view returns (bytes32) {
        return _orderDigest(order);
    }

    /// @notice A series' value per long unit: its payoff once settled, else Black-76 at its mark (price,
    ///         vol, τ = expiry − markedAt, rate 0; Floor), 0 while unmarked (WAD quote).
    function markValue(RiskArrayBook.Series memory s) public pure returns (uint256) {
        if (s.settled) return s.payoffWad;
        if (s.markedAt == 0) return 0;
        Black76.OptionKind kind = s.kind == RiskArrays.InstrumentKind.Call ? Black76.OptionKind.Call : Black76.OptionKind.Put;
        return Black76.price(kind, s.priceWad, s.strikeWad, s.volWad, s.expiry - s.markedAt, 0);
    }

    /// @inheritdoc IOptionsModule
    /// @dev value = ⌊Σ size·markValue / WAD⌋ over the options (Floor, the sum exact). Maintenance =
    ///      book.maintenanceMargin over the perps (their mapped series; UnmappedMarket) then the unsettled
    ///      options, in the account's orders; initial = ⌈maintenance·imMultiple / WAD⌉ (Ceil).
    function portfolioMargin(address owner, MarginMath.PositionData[] calldata perps)
        external
        view
        returns (bool, int256, uint256, uint256)
    {
        uint256[] storage ids = _seriesIds[owner];
        uint256 n = ids.length;
        if (n == 0) return (false, 0, 0, 0);
        uint256 count = perps.length;
        uint256[] memory seriesIds = new uint256[](count + n);
        int256[] memory sizes = new int256[](count + n);
        for (uint256 i; i < count; ++i) {
            seriesIds[i] = perpSeries(perps[i].marketId);
            sizes[i] = perps[i].size;
        }
        int256 value;
        for (uint256 i; i < n; ++i) {
            uint256 id = ids[i];
            RiskArrayBook.Series memory s = book.series(id);
            int256 size = optionSize[owner][id];
            value += size * int256(markValue(s));
            if (s.settled) continue;
            seriesIds[count] = id;
            sizes[count] = size;
            ++count;
        }
        assembly ("memory-safe") {
            mstore(seriesIds, count)
            mstore(sizes, count)
        }
        uint256 mm = book.maintenanceMargin(seriesIds, sizes);
        uint256 im = FixedPointMath.mulWad(mm, book.imMultipleWad(), FixedPointMath.Rounding.Ceil);
        return (true, FixedPointMath.sDivRounded(value, WAD_I, FixedPointMath.Rounding.Floor), im, mm);
    }

    // ------------------------------------------------------------------ private

    /// @dev Pause, band, health before, positions, premium, fill health (see trade).
    function _fillBoth(
        uint256 seriesId,
        RiskArrayBook.Series memory s,
        address takerOwner,
        address makerOwner,
        int256 sizeWad,
        uint256 premiumWad
    ) private {
        int256 takerOld = optionSize[takerOwner][seriesId];
        int256 makerOld = optionSize[makerOwner][seriesId];
        bool takerUp = _increasesRisk(takerOld, takerOld + sizeWad);
        bool makerUp = _increasesRisk(makerOld, makerOld - sizeWad);
        if ((takerUp || makerUp) && engine.paused()) revert EnforcedPause();
        _checkBand(seriesId, s, premiumWad);
        Health memory takerBefore = _accruedHealth(takerOwner);
        Health memory makerBefore = _accruedHealth(makerOwner);
        _setSize(takerOwner, seriesId, takerOld, takerOld + sizeWad);
        _setSize(makerOwner, seriesId, makerOld, makerOld - sizeWad);
        uint256 notional = (sizeWad < 0 ? uint256(-sizeWad) : uint256(sizeWad)) * premiumWad;
        uint256 paid = FixedPointMath.divRounded(notional, WAD, FixedPointMath.Rounding.Ceil);
        uint256 received = notional / WAD;
        (address buyer, address seller) = sizeWad > 0 ? (takerOwner, makerOwner) : (makerOwner, takerOwner);
        engine.adjustCollateral(buyer, -int256(paid), paid - received);
        engine.adjustCollateral(seller, int256(received), 0);
        _checkFillHealth(takerOwner, takerUp, takerBefore);
        _checkFillHealth(makerOwner, makerUp, makerBefore);
        emit OptionTraded(seriesId, takerOwner, makerOwner, sizeWad, premiumWad, paid, received);
    }

    /// @dev The transfer, penalty and checks of liquidate after its eligibility checks.
    function _liquidateTransfer(
        address owner,
        uint256 seriesId,
        RiskArrayBook.Series memory s,
        int256 positionOld,
        int256 sizeWad
    ) private {
        int256 liquidatorOld = optionSize[msg.sender][seriesId];
        _setSize(owner, seriesId, positionOld, positionOld - sizeWad);
        _setSize(msg.sender, seriesId, liquidatorOld, liquidatorOld + sizeWad);
        uint256 value = markValue(s);
        uint256 size = _abs(sizeWad);
        uint256 paid = FixedPointMath.divRounded(size * value, WAD, FixedPointMath.Rounding.Ceil);
        uint256 received = size * value / WAD;
        (address buyer, address seller) = sizeWad > 0 ? (msg.sender, owner) : (owner, msg.sender);
        engine.adjustCollateral(buyer, -int256(paid), paid - received);
        engine.adjustCollateral(seller, int256(received), 0);
        uint256 penalty = FixedPointMath.mulDiv(size * s.priceWad, liquidationPenaltyWad, WAD * WAD, FixedPointMath.Rounding.Ceil);
        (int256 eq,,) = engine.margins(owner, 0);
        if (eq <= 0) penalty = 0;
        else if (uint256(eq) < penalty) penalty = uint256(eq);
        uint256 insurance = FixedPointMath.mulDiv(penalty, insuranceShareWad, WAD, FixedPointMath.Rounding.Floor);
        engine.adjustCollateral(owner, -int256(penalty), 0);
        engine.adjustCollateral(msg.sender, int256(penalty - insurance), 0);
        engine.creditInsurance(insurance);
        if (positionOld != sizeWad) {
            uint256 mm;
            (eq,, mm) = engine.margins(owner, 0);
            if (eq < int256(mm)) revert LiquidationTooSmall(owner, 0, eq, mm);
        }
        _requireInitialMargin(msg.sender);
        emit OptionLiquidated(seriesId, owner, msg.sender, sizeWad, value, paid, received, penalty, insurance);
    }

    /// @dev Accrue funding in the account's engine markets, then InsufficientMargin unless equity ≥ initial margin.
    function _requireInitialMargin(address owner) private {
        (,, uint256[] memory marketIds,) = engine.accountState(owner, 0);
        for (uint256 i; i < marketIds.length; ++i) {
            engine.accrueFunding(marketIds[i]);
        }
        (int256 eq, uint256 im,) = engine.margins(owner, 0);
        if (eq < int256(im)) revert InsufficientMargin(owner, 0, eq, im);
    }

    /// @dev NotMarked while the series has no mark; PremiumOutsideBand unless premium < 2^94 and
    ///      |premium − value|·WAD ≤ premiumBand·markPrice (exact integers).
    function _checkBand(uint256 seriesId, RiskArrayBook.Series memory s, uint256 premiumWad) private view {
        if (s.markedAt == 0) revert NotMarked(seriesId);
        uint256 value = markValue(s);
        uint256 gap = premiumWad > value ? premiumWad - value : value - premiumWad;
        if (premiumWad >= PREMIUM_BOUND || gap * WAD > premiumBandWad * s.priceWad) {
            revert PremiumOutsideBand(seriesId, premiumWad, value);
        }
    }

    /// @dev Accrue funding in the account's engine markets, then its equity and maintenance margin.
    function _accruedHealth(address owner) private returns (Health memory h) {
        (,, uint256[] memory marketIds,) = engine.accountState(owner, 0);
        for (uint256 i; i < marketIds.length; ++i) {
            engine.accrueFunding(marketIds[i]);
        }
        (h.equityWad,, h.maintenanceWad) = engine.margins(owner, 0);
    }

    /// @dev The engine's fill-health rule (spec §5.3) on a cross account after an option fill: E ≥ IM
    ///      passes; else InsufficientMargin if its risk grew; else NegativeEquity if E < 0; else, when
    ///      E0 > 0, MarginHealthDecreased if MM0 = 0 or E < ⌈E0·MM / MM0⌉ (Ceil).
    function _checkFillHealth(address owner, bool riskGrew, Health memory before) private view {
        (int256 eq, uint256 im, uint256 mm) = engine.margins(owner, 0);
        if (eq >= int256(im)) return;
        if (riskGrew) revert InsufficientMargin(owner, 0, eq, im);
        if (eq < 0) revert NegativeEquity(owner, 0, eq);
        if (
            before.equityWad > 0
                && (
                    before.maintenanceWad == 0
                        || uint256(eq)
                            < FixedPointMath.mulDiv(
                                uint256(before.equityWad), mm, before.maintenanceWad, FixedPointMath.Rounding.Ceil
                            )
                )
        ) revert MarginHealthDecreased(owner, 0, before.equityWad, before.maintenanceWad, eq, mm);
    }

    /// @dev The one position write: position old → new in a series: opens (TooManyPositions past
    ///      MAX_OPTION_POSITIONS), closes (swap-and-pop), keeps the series' aggregates (_aggregate).
    function _setSize(address owner, uint256 seriesId, int256 oldSize, int256 newSize) private {
        uint256[] storage ids = _seriesIds[owner];
        if (oldSize == 0) {
            if (ids.length >= MAX_OPTION_POSITIONS) revert TooManyPositions(owner, 0, MAX_OPTION_POSITIONS);
            ids.push(seriesId);
            ++openPositionCount;
        } else if (newSize == 0) {
            --openPositionCount;
            uint256 last = ids.length - 1;
            for (uint256 i; i <= last; ++i) {
                if (ids[i] == seriesId) {
                    ids[i] = ids[last];
                    ids.pop();
                    break;
                }
            }
        }
        optionSize[owner][seriesId] = newSize;
        _aggregate(seriesId, oldSize, newSize);
    }

    /// @dev A position of the series goes old → new: openInterest += max(new, 0) − max(old, 0),
    ///      shortInterest += max(−new, 0) − max(−old, 0).
    function _aggregate(uint256 seriesId, int256 oldSize, int256 newSize) private {
        openInterest[seriesId] = openInterest[seriesId] + _longPart(newSize) - _longPart(oldSize);
        shortInterest[seriesId] = shortInterest[seriesId] + _longPart(-newSize) - _longPart(-oldSize);
    }

    /// @dev Every series of the book by id, but the settled ones without positions (nothing can open there).
    function _seriesSnapshots() private view returns (SeriesSnapshot[] memory out) {
        uint256 n = book.seriesCount();
        out = new SeriesSnapshot[](n);
        uint256 count;
        for (uint256 id; id < n; ++id) {
            RiskArrayBook.Series memory s = book.series(id);
            uint256 longSize = openInterest[id];
            uint256 shortSize = shortInterest[id];
            if (s.settled && longSize == 0 && shortSize == 0) continue;
            SeriesSnapshot memory snap = out[count++];
            snap.seriesId = id;
            snap.underlyingId = s.underlyingId;
            snap.kind = s.kind;
            snap.strikeWad = s.strikeWad;
            snap.expiry = s.expiry;
            snap.priceWad = s.priceWad;
            snap.volWad = s.volWad;
            snap.markedAt = s.markedAt;
            snap.riskArray = s.riskArray;
            if (s.kind != RiskArrays.InstrumentKind.Perp) {
                snap.somWad = RiskArrays.shortOptionMinimum(s.kind, s.priceWad, book.underlying(s.underlyingId).somFractionWad);
                snap.valueWad = markValue(s);
            }
            snap.settled = s.settled;
            snap.longSizeWad = longSize;
            snap.shortSizeWad = shortSize;
        }
        assembly ("memory-safe") {
            mstore(out, count)
        }
    }

    /// @dev Every mapped engine market with its perp series, by market id.
    function _perpMappings() private view returns (PerpMapping[] memory out) {
        uint256 n = engine.marketCount();
        out = new PerpMapping[](n);
        uint256 count;
        for (uint256 m; m < n; ++m) {
            uint256 plusOne = _perpSeriesPlusOne[m];
            if (plusOne != 0) out[count++] = PerpMapping(m, plusOne - 1);
        }
        assembly ("memory-safe") {
            mstore(out, count)
        }
    }

    function _checkpointIndex(uint256 id) private view returns (uint256) {
        if (id == 0 || id > _checkpointHashes.length) revert UnknownCheckpoint(id);
        return id - 1;
    }

    /// @dev The engine's order checks (MarginEngine._checkOrder) without the fee check (options charge no
    ///      fee; maxFeeWad is signed but unused); then filledSize[digest] += |fillWad|.
    function _checkOrder(MarginEngine.Order calldata order, bytes calldata sig, int256 fillWad, uint256 priceWad)
        private
    {
        bytes32 digest = _orderDigest(order);
        if (!SignatureChecker.isValidSignatureNowCalldata(order.owner, digest, sig)) {
            revert InvalidSignature(order.owner, digest);
        }
        if (isCancelled[digest]) revert CancelledOrder(digest);
        uint256 floorNonce = minNonce[order.owner];
        if (order.nonce < floorNonce) revert NonceTooLow(digest, order.nonce, floorNonce);
        if (block.timestamp > order.expiry) revert OrderExpired(digest, order.expiry, block.timestamp);
        int256 orderSize = order.sizeWad;
        if (orderSize == 0 || (orderSize > 0) != (fillWad > 0)) revert WrongSide(digest, orderSize, fillWad);
        uint256 fill = fillWad < 0 ? uint256(-fillWad) : uint256(fillWad);
        uint256 full = orderSize > 0 ? uint256(orderSize) : uint256(-(orderSize + 1)) + 1;
        uint256 filled = filledSize[digest];
        if (fill > full - filled) revert OrderOverfill(digest, filled, fill, full);
        if (orderSize > 0 ? priceWad > order.limitPriceWad : priceWad < order.limitPriceWad) {
            revert LimitPriceExceeded(digest, priceWad, order.limitPriceWad);
        }
        filledSize[digest] = filled + fill;
        emit OrderFilled(digest, order.owner, fill, filled + fill);
    }

    function _orderDigest(MarginEngine.Order calldata order) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH,
                    order.owner,
                    order.sub,
                    order.marketId,
                    order.sizeWad,
                    order.limitPriceWad,
                    order.maxFeeWad,
                    order.nonce,
                    order.expiry
                )
            )
        );
    }

    function _increasesRisk(int256 oldSize, int256 newSize) private pure returns (bool) {
        uint256 a = oldSize < 0 ? uint256(-oldSize) : uint256(oldSize);
        uint256 b = newSize < 0 ? uint256(-newSize) : uint256(newSize);
        return b > a || (oldSize > 0 && newSize < 0) || (oldSize < 0 && newSize > 0);
    }

    function _abs(int256 x) private pure returns (uint256) {
        return x < 0 ? uint256(-x) : uint256(x);
    }

    function _longPart(int256 size) private pure returns (uint256) {
        return size > 0 ? uint256(size) : 0;
    }
}
