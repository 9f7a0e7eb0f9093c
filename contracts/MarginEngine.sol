// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {FixedPointMath} from "./FixedPointMath.sol";
import {MarginMath} from "./MarginMath.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {IOptionsModule} from "./interfaces/IOptionsModule.sol";
import {
    Ownable, Ownable2Step, Pausable, EnumerableSet, IERC20, IERC20Metadata, SafeERC20, EIP712, SignatureChecker
} from "./vendor/OpenZeppelin.sol";

/// @title MarginEngine
/// @notice Perpetual markets on one ERC-20 collateral vault: cross-margin accounts (sub 0) and
///         isolated sub-accounts (sub ≥ 1, one market), fills of EIP-712 orders signed by their owners
///         and matched by an operator, per-second
///         funding, liquidation with an insurance fund and recorded bad debt (docs/spec.md §5).
///         Mirrored bit for bit — values, reverts and events — by pymargin.engine.Engine.
/// @dev Units: WAD = 1e18. Sizes are WAD base units (long > 0), prices WAD quote per base unit,
///      collateral and every amount named `...Wad` WAD quote, fractions WAD. Token amounts
///      (`...Tokens`) are converted once, at the vault edge: wad = tokens · 10^(18 − decimals), exact.
///      Every division names its rounding and rounds in favour of the system. Formulas live in
///      MarginMath (account) and FixedPointMath (arithmetic); this contract is the state machine.
contract MarginEngine is Ownable2Step, Pausable, EIP712 {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice A market's risk and fee parameters (all fractions WAD).
    struct MarketParams {
        uint256 imfWad; // initial margin fraction, 0 < mmf < imf ≤ 1
        uint256 mmfWad; // maintenance margin fraction
        uint256 takerFeeWad; // fraction of the taker's notional, ≤ 1
        uint256 makerFeeWad; // fraction of the maker's notional, ≤ 1
        uint256 liquidationPenaltyWad; // fraction of the liquidated notional, ≤ 1
        uint256 insuranceShareWad; // fraction of the penalty paid to the insurance fund, ≤ 1
        uint256 maxOpenInterest; // cap on total long size, WAD base units, < 2^94
        uint256 maxPriceAgeS; // an oracle price older than this (seconds) is stale, > 0
        uint256 priceBandWad; // a fill price must lie within oracle · (1 ± band), band < 1
        uint256 maxFundingRateWad; // |funding rate| cap, WAD fraction of the price per second, ≤ MAX_FUNDING_RATE_WAD
    }

    /// @notice A position: signed size, signed cost basis, funding index at the last settlement.
    struct Position {
        int256 size;
        int256 costBasis;
        int256 fundingIndex;
    }

    /// @notice An order, signed by its owner as EIP-712 typed data (spec §5.3). sizeWad > 0 buys (long),
    ///         < 0 sells; |sizeWad| is the order's full size, filled over one or more trades.
    struct Order {
        address owner;
        uint256 sub;
        uint256 marketId;
        int256 sizeWad;
        uint256 limitPriceWad; // buy: fill price ≤ limit; sell: fill price ≥ limit
        uint256 maxFeeWad; // cap on the fee rate charged to this order (WAD fraction)
        uint256 nonce; // must be ≥ minNonce(owner)
        uint256 expiry; // unix seconds; a fill needs block.timestamp ≤ expiry
    }

    /// @notice An account's address: owner and sub-account (0 = cross margin, ≥ 1 isolated).
    struct AccountKey {
        address owner;
        uint256 sub;
    }

    struct Market {
        IPriceOracle oracle;
        string name;
        MarketParams params;
        int256 fundingRateWad; // WAD fraction of the price per second (longs pay when > 0)
        int256 fundingIndexWad; // cumulative funding per base unit, WAD quote
        uint256 lastFundingTime; // seconds
        uint256 openInterest; // total long size, WAD base units (= Σ max(size, 0), the long-size aggregate)
        int256 costBasisSumBiased; // SUM_BIAS + Σ cost basis over every account's position (WAD, spec §5.11)
        int256 sizeFundingSumBiased; // SUM_BIAS + Σ size · f over every account's position, exact (WAD²)
        bool settled; // settled by the owner at a final price: no more trading, positions close at it
        uint256 settlementPriceWad; // the final price once settled
    }

    struct Account {
        bool exists;
        int256 collateral; // WAD quote
        uint256[] marketIds; // markets with an open position, in opening order (swap-and-pop removal)
        mapping(uint256 => Position) positions;
    }

    /// @notice Open positions per cross-margin account (an isolated sub-account holds one).
    uint256 public constant MAX_POSITIONS = 4;
    /// @notice Markets the engine can ever have; the solvency circuit has a slot for each.
    uint256 public constant MAX_MARKETS = 4;
    /// @notice Cap on any market's maxFundingRateWad: 10^-5 of the price per second (86.4% a day), so an
    ///         index moving at the cap for 4,000 years at a price of 10^6 stays inside ±2^100 (spec §5.4).
    uint256 public constant MAX_FUNDING_RATE_WAD = 1e13;
    uint256 internal constant WAD = 1e18;
    int256 internal constant WAD_I = 1e18;
    uint256 internal constant WAD2 = 1e36;
    int256 internal constant SIZE_BOUND = 2 ** 94; // |size| < 2^94
    uint256 internal constant PRICE_BOUND = 2 ** 94; // 0 < price < 2^94
    int256 internal constant FUNDING_INDEX_BOUND = 2 ** 100; // |F| < 2^100
    int256 internal constant COLLATERAL_BOUND = 2 ** 128; // |collateral| < 2^128
    uint256 internal constant AMOUNT_BOUND = 2 ** 128; // token and WAD amounts of one operation
    /// @dev The aggregate sums are stored plus 2^254; every reachable |sum| is < 2^227, so the stored
    ///      value stays in int256 and never reaches 0 (a zero → non-zero write costs 20,000 gas, else 2,900).
    int256 internal constant SUM_BIAS = 2 ** 254;

    /// @notice keccak256 of the Order type string (EIP-712 typeHash).
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint256 sub,uint256 marketId,int256 sizeWad,uint256 limitPriceWad,uint256 maxFeeWad,uint256 nonce,uint256 expiry)"
    );

    /// @notice The collateral ERC-20.
    IERC20 public immutable collateralToken;
    /// @notice WAD per token unit: 10^(18 − decimals).
    uint256 public immutable collateralScale;

    /// @notice Insurance fund, WAD quote: liquidation penalty shares and deposits, drawn on for shortfalls.
    uint256 public insuranceFund;
    /// @notice Trading fees collected and not yet withdrawn, WAD quote.
    uint256 public accruedFees;
    /// @notice Shortfalls the insurance fund could not cover, WAD quote (never silently lost).
    uint256 public badDebt;

    Market[] private _markets;
    mapping(address => mapping(uint256 => Account)) private _accounts;
    AccountKey[] private _accountList;
    EnumerableSet.AddressSet private _keepers;
    EnumerableSet.AddressSet private _operators;
    /// @dev SUM_BIAS + Σ collateral over every account, WAD quote (spec §5.11).
    int256 private _collateralSumBiased = SUM_BIAS;
    /// @dev keccak256(abi.encode(CheckpointData)) and block number of checkpoint id = index + 1.
    bytes32[] private _checkpointHashes;
    uint256[] private _checkpointBlocks;

    /// @notice What checkpoint() reads of a market: checked oracle price, funding index after accrual, imf, mmf (WAD).
    struct MarketSnapshot {
        uint256 priceWad;
        int256 fundingIndexWad;
        uint256 imfWad;
        uint256 mmfWad;
    }

    /// @notice Running sums over every account's position in one market (spec §5.11).
    struct MarketAggregate {
        uint256 longSizeWad; // Σ max(size, 0) = Σ max(−size, 0) (= openInterest)
        int256 costBasisWad; // Σ cost basis
        int256 sizeFundingWad2; // Σ size · f, f the position's funding index (exact product, WAD²)
    }

    /// @notice The engine at the end of a checkpoint's block (only its keccak256 is stored; the data is in the event).
    struct CheckpointData {
        uint256 id;
        uint256 blockNumber;
        uint256 timestamp;
        MarketSnapshot[] markets; // every market 0 .. marketCount − 1, accrued to now
        MarketAggregate[] aggregates; // one per market
        uint256 accountCount;
        int256 collateralSumWad;
        uint256 vaultBalanceWad; // collateral token balance · scale
        uint256 accruedFeesWad;
        uint256 insuranceFundWad;
        uint256 badDebtWad;
    }
    /// @notice |size| filled so far of the order with this EIP-712 digest, WAD base units.
    mapping(bytes32 => uint256) public filledSize;
    /// @notice Whether the order with this digest was cancelled by its owner.
    mapping(bytes32 => bool) public isCancelled;
    /// @notice Orders of `owner` with nonce < minNonce(owner) cannot fill.
    mapping(address => uint256) public minNonce;
    /// @notice The options module (spec §5.13), set once: the only caller of adjustCollateral and
    ///         creditInsurance; a cross account holding its options is margined by its portfolio margin.
    IOptionsModule public optionsModule;

    error UnsupportedDecimals(uint8 decimals);
    error NotKeeper(address account);
    error NotOperator(address account);
    error ZeroAddress();
    error UnknownMarket(uint256 marketId);
    error InvalidMarketParams(string field);
    error InvalidPrice(uint256 marketId, int256 priceWad);
    error StalePrice(uint256 marketId, uint256 updatedAt, uint256 nowS);
    error FundingRateOutOfBounds(uint256 marketId, int256 rateWad, uint256 maxRateWad);
    error SettledMarket(uint256 marketId);
    error MarketNotSettled(uint256 marketId);
    error ShortDelivery(uint256 expectedTokens, uint256 receivedTokens);
    error ZeroAmount();
    error AmountOutOfBounds(uint256 amount);
    error CollateralOutOfBounds(address owner, uint256 sub, int256 collateralWad);
    error SizeOutOfBounds(int256 sizeWad);
    error SelfTrade(address owner, uint256 sub);
    error PriceOutsideBand(uint256 marketId, uint256 priceWad, uint256 oraclePriceWad);
    error TooManyPositions(address owner, uint256 sub, uint256 maxPositions);
    error OpenInterestCap(uint256 marketId, uint256 openInterest, uint256 maxOpenInterest);
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
    error InsufficientCollateral(address owner, uint256 sub, int256 collateralWad, uint256 amountWad);
    error SameSubAccount(uint256 sub);
    error UnknownAccount(address owner, uint256 sub);
    error NoPosition(address owner, uint256 sub, uint256 marketId);
    error InvalidLiquidationSize(int256 sizeWad, int256 positionSizeWad);
    error SelfLiquidation(address owner, uint256 sub);
    error NotLiquidatable(address owner, uint256 sub, int256 equityWad, uint256 maintenanceMarginWad);
    error LiquidationTooSmall(address owner, uint256 sub, int256 equityWad, uint256 maintenanceMarginWad);
    error InsufficientFees(uint256 ownerFeesWad, uint256 amountWad);
    error TooManyMarkets(uint256 marketCount, uint256 maxMarkets);
    error UnknownCheckpoint(uint256 id);
    error MarketMismatch(uint256 takerMarketId, uint256 makerMarketId);
    error InvalidSignature(address owner, bytes32 digest);
    error CancelledOrder(bytes32 digest);
    error NonceTooLow(bytes32 digest, uint256 nonce, uint256 minNonce);
    error OrderExpired(bytes32 digest, uint256 expiry, uint256 nowS);
    error WrongSide(bytes32 digest, int256 orderSizeWad, int256 fillSizeWad);
    error OrderOverfill(bytes32 digest, uint256 filledWad, uint256 fillWad, uint256 orderSizeWad);
    error LimitPriceExceeded(bytes32 digest, uint256 priceWad, uint256 limitPriceWad);
    error FeeAboveMax(bytes32 digest, uint256 feeRateWad, uint256 maxFeeWad);
    error NotOrderOwner(address account, address owner);
    error NonceNotIncreasing(uint256 minNonce, uint256 nonce);

    event MarketAdded(uint256 indexed marketId, address oracle, string name);
    event MarketParamsSet(uint256 indexed marketId, MarketParams params);
    event OracleSet(uint256 indexed marketId, address oracle);
    event KeeperSet(address indexed account, bool allowed);
    event OperatorSet(address indexed account, bool allowed);
    event FundingRateSet(uint256 indexed marketId, int256 rateWad);
    event FundingAccrued(
        uint256 indexed marketId,
        int256 rateWad,
        uint256 elapsedS,
        uint256 priceWad,
        int256 indexDeltaWad,
        int256 fundingIndexWad
    );
    event MarketSettled(uint256 indexed marketId, uint256 priceWad);
    event FundingSettled(address indexed owner, uint256 indexed sub, uint256 indexed marketId, int256 amountWad);
    event AccountOpened(address indexed owner, uint256 indexed sub);
    event Deposited(address indexed owner, uint256 indexed sub, uint256 amountTokens, uint256 amountWad);
    event Withdrawn(address indexed owner, uint256 indexed sub, uint256 amountTokens, uint256 amountWad);
    event CollateralTransferred(address indexed owner, uint256 indexed fromSub, uint256 indexed toSub, uint256 amountWad);
    event PositionUpdated(
        address indexed owner,
        uint256 indexed sub,
        uint256 indexed marketId,
        int256 sizeDeltaWad,
        uint256 priceWad,
        int256 sizeWad,
        int256 costBasisWad,
        int256 realisedPnlWad,
        uint256 feeWad
    );
    event Trade(
        uint256 indexed marketId,
        address takerOwner,
        uint256 takerSub,
        address makerOwner,
        uint256 makerSub,
        int256 sizeWad,
        uint256 priceWad
    );
    event OrderFilled(bytes32 indexed digest, address indexed owner, uint256 fillWad, uint256 filledWad);
    event OrderCancelled(bytes32 indexed digest, address indexed owner);
    event MinNonceRaised(address indexed owner, uint256 minNonce);
    event Liquidated(
        uint256 indexed marketId,
        address indexed owner,
        uint256 sub,
        address indexed liquidator,
        uint256 liquidatorSub,
        int256 sizeWad,
        uint256 priceWad,
        uint256 penaltyWad,
        uint256 insuranceWad
    );
    event BadDebtSettled(address indexed owner, uint256 indexed sub, uint256 coveredWad, uint256 badDebtWad);
    event InsuranceDeposited(address indexed from, uint256 amountTokens, uint256 amountWad);
    event FeesWithdrawn(address indexed to, uint256 amountTokens, uint256 amountWad);
    event CheckpointTaken(uint256 indexed id, CheckpointData data);

    /// @param token the collateral ERC-20 (at most 18 decimals, else UnsupportedDecimals).
    /// @param initialOwner the owner (OwnableInvalidOwner if zero).
    constructor(IERC20Metadata token, address initialOwner)
        Ownable(initialOwner)
        EIP712("pymargin MarginEngine", "1")
    {
        uint8 d = token.decimals();
        if (d > 18) revert UnsupportedDecimals(d);
        collateralToken = token;
        collateralScale = 10 ** (18 - d);
    }

    // ------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------

    /// @notice Add a market with its oracle, name and parameters; its funding clock starts now.
    /// @dev Reverts TooManyMarkets once MAX_MARKETS exist, InvalidMarketParams("oracle") if the oracle
    ///      has no code, then InvalidMarketParams(field) for the first parameter out of range (spec §5.1).
    ///      The new id is marketCount() − 1.
    function addMarket(IPriceOracle oracle, string calldata name, MarketParams calldata params)
        external
        onlyOwner
        returns (uint256 marketId)
    {
        if (_markets.length >= MAX_MARKETS) revert TooManyMarkets(_markets.length, MAX_MARKETS);
        _checkOracle(oracle);
        _checkParams(params);
        marketId = _markets.length;
        Market storage m = _markets.push();
        m.oracle = oracle;
        m.name = name;
        m.params = params;
        m.lastFundingTime = block.timestamp;
        m.costBasisSumBiased = SUM_BIAS;
        m.sizeFundingSumBiased = SUM_BIAS;
        emit MarketAdded(marketId, address(oracle), name);
        emit MarketParamsSet(marketId, params);
    }

    /// @notice Replace a market's parameters; the current funding rate must be within the new cap.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        Market storage m = _market(marketId);
        _checkParams(params);
        _checkRate(marketId, m.fundingRateWad, params.maxFundingRateWad);
        m.params = params;
        emit MarketParamsSet(marketId, params);
    }

    /// @notice Replace a market's oracle (InvalidMarketParams("oracle") if it has no code).
    function setOracle(uint256 marketId, IPriceOracle oracle) external onlyOwner {
        Market storage m = _market(marketId);
        _checkOracle(oracle);
        m.oracle = oracle;
        emit OracleSet(marketId, address(oracle));
    }

    /// @notice Grant or revoke the keeper role (sets funding rates).
    function setKeeper(address account, bool allowed) external onlyOwner {
        if (allowed) _keepers.add(account);
        else _keepers.remove(account);
        emit KeeperSet(account, allowed);
    }

    /// @notice Grant or revoke the operator role (submits matched fills).
    function setOperator(address account, bool allowed) external onlyOwner {
        if (allowed) _operators.add(account);
        else _operators.remove(account);
        emit OperatorSet(account, allowed);
    }

    /// @notice Pause: fills that increase either side's risk and liquidations revert EnforcedPause;
    ///         deposits, withdrawals, transfers, risk-reducing fills and funding go on.
    function pause() external onlyOwner {
        _pause();
    }

    /// @notice End a pause (ExpectedPause if not paused).
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Send `amountTokens` of accrued fees to `to`; accruedFees falls by amountTokens · scale (WAD),
    ///         which may not exceed ownerFeesWad() (fees first cover recorded bad debt, spec §5.2).
    function withdrawFees(address to, uint256 amountTokens) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        uint256 amountWad = _toWad(amountTokens);
        uint256 ownerFees = ownerFeesWad();
        if (amountWad > ownerFees) revert InsufficientFees(ownerFees, amountWad);
        accruedFees -= amountWad;
        emit FeesWithdrawn(to, amountTokens, amountWad);
        collateralToken.safeTransfer(to, amountTokens);
    }

    /// @notice Settle a market for good at `priceWad` (0 < price < 2^94): funding accrues up to now at
    ///         that price, then stops; trading, liquidation and rate changes in it revert SettledMarket;
    ///         the market's price is `priceWad` from now on (the oracle is no longer read) and anyone
    ///         may close a position in it at that price (closeSettledPosition).
    function settleMarket(uint256 marketId, uint256 priceWad) external onlyOwner {
        Market storage m = _market(marketId);
        if (m.settled) revert SettledMarket(marketId);
        if (priceWad == 0 || priceWad >= PRICE_BOUND) revert InvalidPrice(marketId, int256(priceWad));
        _accrueAt(marketId, m, priceWad);
        m.settled = true;
        m.settlementPriceWad = priceWad;
        emit MarketSettled(marketId, priceWad);
    }

    /// @notice Set the options module, once (InvalidMarketParams("optionsModule") if set or without code).
    function setOptionsModule(IOptionsModule module) external onlyOwner {
        if (address(optionsModule) != address(0) || address(module).code.length == 0) {
            revert InvalidMarketParams("optionsModule");
        }
        optionsModule = module;
    }

    /// @notice Options module only (else NotOperator): collateral of (owner, 0) += deltaWad and
    ///         accruedFees += feeWad, for premiums and expiry payouts (spec §5.13). Allowed while paused.
    function adjustCollateral(address owner, int256 deltaWad, uint256 feeWad) external {
        if (msg.sender != address(optionsModule)) revert NotOperator(msg.sender);
        Account storage acc = _openAccount(owner, 0);
        _setCollateral(owner, 0, acc, acc.collateral + deltaWad);
        accruedFees += feeWad;
    }

    /// @notice Options module only (else NotOperator): insuranceFund += amountWad, the insurance share of an
    ///         option liquidation's penalty, which the module has debited from the liquidated account (spec §5.13).
    function creditInsurance(uint256 amountWad) external {
        if (msg.sender != address(optionsModule)) revert NotOperator(msg.sender);
        insuranceFund += amountWad;
    }

    // ------------------------------------------------------------------------------------------
    // Keeper and anyone: funding
    // ------------------------------------------------------------------------------------------

    /// @notice Keeper: accrue the market's funding at the old rate, then set the rate (WAD per second,
    ///         |rate| ≤ maxFundingRateWad, else FundingRateOutOfBounds).
    function setFundingRate(uint256 marketId, int256 rateWad) external {
        if (!_keepers.contains(msg.sender)) revert NotKeeper(msg.sender);
        Market storage m = _market(marketId);
        if (m.settled) revert SettledMarket(marketId);
        _checkRate(marketId, rateWad, m.params.maxFundingRateWad);
        _accrue(marketId, m);
        m.fundingRateWad = rateWad;
        emit FundingRateSet(marketId, rateWad);
    }

    /// @notice Accrue the market's funding up to now: F += ⌊rate · Δt · price / WAD⌋ (signed Floor),
    ///         clamped to (−2^100, 2^100); a settled market no longer accrues.
    /// @dev Reads and checks the oracle price even when Δt = 0 (reverts InvalidPrice / StalePrice).
    /// @return fundingIndexWad the market's cumulative funding index after accrual (WAD quote per base unit).
    function accrueFunding(uint256 marketId) external returns (int256 fundingIndexWad) {
        Market storage m = _market(marketId);
        _accrue(marketId, m);
        return m.fundingIndexWad;
    }

    /// @notice Keeper: accrue every market to now (InvalidPrice / StalePrice / FundingIndexOutOfBounds as
    ///         accrual does), then record the engine's state as CheckpointData: store its keccak256 and
    ///         block number, emit it in full (spec §5.11). Allowed while paused.
    /// @return id the new checkpoint's id, checkpointCount() afterwards (1, 2, 3, ...).
    function checkpoint() external returns (uint256 id) {
        if (!_keepers.contains(msg.sender)) revert NotKeeper(msg.sender);
        uint256 n = _markets.length;
        CheckpointData memory data;
        data.markets = new MarketSnapshot[](n);
        data.aggregates = new MarketAggregate[](n);
        for (uint256 i = 0; i < n; ++i) {
            Market storage m = _markets[i];
            uint256 priceWad = _accrue(i, m);
            data.markets[i] = MarketSnapshot(priceWad, m.fundingIndexWad, m.params.imfWad, m.params.mmfWad);
            data.aggregates[i] = _aggregate(m);
        }
        id = _checkpointHashes.length + 1;
        data.id = id;
        data.blockNumber = block.number;
        data.timestamp = block.timestamp;
        data.accountCount = _accountList.length;
        data.collateralSumWad = _collateralSumBiased - SUM_BIAS;
        data.vaultBalanceWad = collateralToken.balanceOf(address(this)) * collateralScale;
        data.accruedFeesWad = accruedFees;
        data.insuranceFundWad = insuranceFund;
        data.badDebtWad = badDebt;
        _checkpointHashes.push(keccak256(abi.encode(data)));
        _checkpointBlocks.push(block.number);
        emit CheckpointTaken(id, data);
    }

    // ------------------------------------------------------------------------------------------
    // Users: collateral
    // ------------------------------------------------------------------------------------------

    /// @notice Deposit `amountTokens` (token units) into the caller's sub-account `sub`; collateral
    ///         grows by amountTokens · 10^(18 − decimals) WAD, exact. Allowed while paused. Reverts
    ///         ShortDelivery when the vault's balance grows by less than amountTokens (fee-on-transfer).
    function deposit(uint256 sub, uint256 amountTokens) external {
        uint256 amountWad = _toWad(amountTokens);
        Account storage acc = _openAccount(msg.sender, sub);
        _setCollateral(msg.sender, sub, acc, acc.collateral + int256(amountWad));
        emit Deposited(msg.sender, sub, amountTokens, amountWad);
        _pullTokens(amountTokens);
    }

    /// @notice Withdraw `amountTokens` (token units) from the caller's sub-account `sub`. Needs
    ///         collateral ≥ amount (InsufficientCollateral) and, after accruing funding in the account's
    ///         markets, equity ≥ initial margin (InsufficientMargin). Allowed while paused.
    function withdraw(uint256 sub, uint256 amountTokens) external {
        uint256 amountWad = _toWad(amountTokens);
        Account storage acc = _accounts[msg.sender][sub];
        _debit(msg.sender, sub, acc, amountWad);
        _requireInitialMargin(msg.sender, sub);
        emit Withdrawn(msg.sender, sub, amountTokens, amountWad);
        collateralToken.safeTransfer(msg.sender, amountTokens);
    }

    /// @notice Move `amountWad` of collateral between two of the caller's sub-accounts, with the
    ///         same checks on the source as a withdrawal. Allowed while paused.
    function transferCollateral(uint256 fromSub, uint256 toSub, uint256 amountWad) external {
        if (fromSub == toSub) revert SameSubAccount(fromSub);
        _checkAmount(amountWad);
        _debit(msg.sender, fromSub, _accounts[msg.sender][fromSub], amountWad);
        _requireInitialMargin(msg.sender, fromSub);
        Account storage to = _openAccount(msg.sender, toSub);
        _setCollateral(msg.sender, toSub, to, to.collateral + int256(amountWad));
        emit CollateralTransferred(msg.sender, fromSub, toSub, amountWad);
    }

    /// @notice Add `amountTokens` (token units) to the insurance fund (anyone).
    function depositInsurance(uint256 amountTokens) external {
        uint256 amountWad = _toWad(amountTokens);
        insuranceFund += amountWad;
        emit InsuranceDeposited(msg.sender, amountTokens, amountWad);
        _pullTokens(amountTokens);
    }

    // ------------------------------------------------------------------------------------------
    // Operator: fills
    // ------------------------------------------------------------------------------------------

    /// @notice Operator: settle a fill of two signed orders: the taker's order gets `sizeWad` (signed),
    ///         the maker's −sizeWad, at `priceWad`, in the orders' market (spec §5.3).
    /// @dev Order: NotOperator, UnknownMarket (taker's market), SettledMarket, SizeOutOfBounds
    ///      (0 < |size| < 2^94), SelfTrade (one owner on both sides, any subs), MarketMismatch, the
    ///      taker's order then the maker's (_checkOrder: InvalidSignature, CancelledOrder, NonceTooLow,
    ///      OrderExpired, WrongSide, OrderOverfill, LimitPriceExceeded, FeeAboveMax; then its filled
    ///      size grows by |size|), EnforcedPause (paused and either side's risk grows), accrual
    ///      (InvalidPrice, StalePrice), PriceOutsideBand, health before (accrue each side's markets,
    ///      taker first), taker fill then maker fill (each: settle funding, apply, fee
    ///      ⌈|size|·price·fee / WAD²⌉), OpenInterestCap, then the fill-health rule per side, taker first
    ///      (_checkFillHealth: InsufficientMargin, NegativeEquity, MarginHealthDecreased).
    function trade(
        Order calldata taker,
        bytes calldata takerSig,
        Order calldata maker,
        bytes calldata makerSig,
        int256 sizeWad,
        uint256 priceWad
    ) external {
        if (!_operators.contains(msg.sender)) revert NotOperator(msg.sender);
        uint256 marketId = taker.marketId;
        Market storage m = _market(marketId);
        if (m.settled) revert SettledMarket(marketId);
        if (sizeWad == 0 || sizeWad <= -SIZE_BOUND || sizeWad >= SIZE_BOUND) revert SizeOutOfBounds(sizeWad);
        if (taker.owner == maker.owner) revert SelfTrade(taker.owner, taker.sub);
        if (maker.marketId != marketId) revert MarketMismatch(marketId, maker.marketId);
        _checkOrder(taker, takerSig, sizeWad, priceWad, m.params.takerFeeWad);
        _checkOrder(maker, makerSig, -sizeWad, priceWad, m.params.makerFeeWad);
        _settle(marketId, m, taker.owner, taker.sub, maker.owner, maker.sub, sizeWad, priceWad);
    }

    /// @notice Cancel `order` (only its owner, else NotOrderOwner): its digest can no longer fill.
    function cancelOrder(Order calldata order) external {
        if (msg.sender != order.owner) revert NotOrderOwner(msg.sender, order.owner);
        bytes32 digest = _orderDigest(order);
        isCancelled[digest] = true;
        emit OrderCancelled(digest, msg.sender);
    }

    /// @notice Cancel every order of the caller with a nonce below `nonce`: minNonce(caller) = nonce,
    ///         which must grow (NonceNotIncreasing).
    function cancelOrdersBelow(uint256 nonce) external {
        uint256 current = minNonce[msg.sender];
        if (nonce <= current) revert NonceNotIncreasing(current, nonce);
        minNonce[msg.sender] = nonce;
        emit MinNonceRaised(msg.sender, nonce);
    }

    /// @notice The EIP-712 digest of `order` under this engine's domain (what its owner signs).
    function orderDigest(Order calldata order) external view returns (bytes32) {
        return _orderDigest(order);
    }

    /// @dev The checks of one side's order for a fill of `fillWad` (this side's signed size) at
    ///      `priceWad` charged `feeRateWad`, in this order; then filledSize[digest] += |fillWad|.
    function _checkOrder(Order calldata order, bytes calldata sig, int256 fillWad, uint256 priceWad, uint256 feeRateWad)
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
        uint256 fill = _abs(fillWad);
        uint256 full = orderSize > 0 ? uint256(orderSize) : uint256(-(orderSize + 1)) + 1; // |size|, int256.min too
        uint256 filled = filledSize[digest];
        if (fill > full - filled) revert OrderOverfill(digest, filled, fill, full);
        if (orderSize > 0 ? priceWad > order.limitPriceWad : priceWad < order.limitPriceWad) {
            revert LimitPriceExceeded(digest, priceWad, order.limitPriceWad);
        }
        if (feeRateWad > order.maxFeeWad) revert FeeAboveMax(digest, feeRateWad, order.maxFeeWad);
        filledSize[digest] = filled + fill;
        emit OrderFilled(digest, order.owner, fill, filled + fill);
    }

    /// @dev EIP-712: keccak256(0x1901 ‖ domainSeparator ‖ keccak256(abi.encode(ORDER_TYPEHASH, order fields))).
    function _orderDigest(Order calldata order) private view returns (bytes32) {
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

    /// @dev The fill itself, once both orders passed: pause, band, health before, both sides' fills,
    ///      open interest, fill health (spec §5.3).
    function _settle(
        uint256 marketId,
        Market storage m,
        address takerOwner,
        uint256 takerSub,
        address makerOwner,
        uint256 makerSub,
        int256 sizeWad,
        uint256 priceWad
    ) private {
        int256 takerOld = _accounts[takerOwner][takerSub].positions[marketId].size;
        int256 makerOld = _accounts[makerOwner][makerSub].positions[marketId].size;
        bool takerUp = _increasesRisk(takerOld, takerOld + sizeWad);
        bool makerUp = _increasesRisk(makerOld, makerOld - sizeWad);
        if ((takerUp || makerUp) && paused()) revert EnforcedPause();
        uint256 oraclePriceWad = _accrue(marketId, m);
        _checkBand(marketId, m, priceWad, oraclePriceWad);
        Health memory takerBefore = _accruedHealth(takerOwner, takerSub);
        Health memory makerBefore = _accruedHealth(makerOwner, makerSub);
        int256 takerNew = _fill(marketId, takerOwner, takerSub, sizeWad, priceWad, m.params.takerFeeWad);
        int256 makerNew = _fill(marketId, makerOwner, makerSub, -sizeWad, priceWad, m.params.makerFeeWad);
        _updateOpenInterest(marketId, m, takerOld, takerNew, makerOld, makerNew);
        _checkFillHealth(takerOwner, takerSub, takerUp, takerBefore);
        _checkFillHealth(makerOwner, makerSub, makerUp, makerBefore);
        emit Trade(marketId, takerOwner, takerSub, makerOwner, makerSub, sizeWad, priceWad);
    }

    // ------------------------------------------------------------------------------------------
    // Anyone with an account: liquidation
    // ------------------------------------------------------------------------------------------

    /// @notice Take over `sizeWad` (same sign as the position, |size| ≤ |position|) of account
    ///         (owner, sub)'s position in `marketId` into the caller's sub-account `liquidatorSub`, at
    ///         the oracle price, when that account's equity < maintenance margin (spec §5.5).
    /// @dev Order: EnforcedPause, UnknownMarket, SettledMarket, SelfLiquidation (the caller owns the
    ///      account, any sub), UnknownAccount (liquidator), NoPosition, InvalidLiquidationSize, accrual of
    ///      the account's markets, NotLiquidatable, the account's fill (−size) then the liquidator's
    ///      (+size), no fee, penalty min(⌈|size|·price·penalty / WAD²⌉, max(equity after the transfer, 0))
    ///      moved from the account to the liquidator less ⌊penalty·insuranceShare / WAD⌋ to the
    ///      insurance fund, open interest, LiquidationTooSmall
    ///      (position left open and equity < MM), bad debt if no position is left, InsufficientMargin
    ///      (liquidator, always checked).
    function liquidate(uint256 liquidatorSub, address owner, uint256 sub, uint256 marketId, int256 sizeWad)
        external
    {
        _requireNotPaused();
        Market storage m = _market(marketId);
        if (m.settled) revert SettledMarket(marketId);
        if (msg.sender == owner) revert SelfLiquidation(owner, sub);
        if (!_accounts[msg.sender][liquidatorSub].exists) revert UnknownAccount(msg.sender, liquidatorSub);
        int256 positionOld = _accounts[owner][sub].positions[marketId].size;
        if (positionOld == 0) revert NoPosition(owner, sub, marketId);
        if (sizeWad == 0 || (sizeWad > 0) != (positionOld > 0) || _abs(sizeWad) > _abs(positionOld)) {
            revert InvalidLiquidationSize(sizeWad, positionOld);
        }
        _accrueAll(owner, sub);
        if (!_isLiquidatable(owner, sub)) {
            (int256 eq, uint256 mm) = _equityAndMaintenance(owner, sub);
            revert NotLiquidatable(owner, sub, eq, mm);
        }
        uint256 priceWad = _oraclePrice(marketId, m);
        int256 liquidatorOld = _accounts[msg.sender][liquidatorSub].positions[marketId].size;
        int256 positionNew = _fill(marketId, owner, sub, -sizeWad, priceWad, 0);
        int256 liquidatorNew = _fill(marketId, msg.sender, liquidatorSub, sizeWad, priceWad, 0);
        uint256 penaltyWad = _cappedPenalty(owner, sub, _abs(sizeWad) * priceWad, m.params.liquidationPenaltyWad);
        uint256 insuranceWad =
            FixedPointMath.mulDiv(penaltyWad, m.params.insuranceShareWad, WAD, FixedPointMath.Rounding.Floor);
        Account storage acc = _accounts[owner][sub];
        _setCollateral(owner, sub, acc, acc.collateral - int256(penaltyWad));
        Account storage liq = _accounts[msg.sender][liquidatorSub];
        _setCollateral(msg.sender, liquidatorSub, liq, liq.collateral + int256(penaltyWad - insuranceWad));
        insuranceFund += insuranceWad;
        _updateOpenInterest(marketId, m, positionOld, positionNew, liquidatorOld, liquidatorNew);
        if (positionNew != 0 && _isLiquidatable(owner, sub)) {
            (int256 eq, uint256 mm) = _equityAndMaintenance(owner, sub);
            revert LiquidationTooSmall(owner, sub, eq, mm);
        }
        _settleBadDebt(owner, sub);
        _requireInitialMargin(msg.sender, liquidatorSub);
        emit Liquidated(
            marketId, owner, sub, msg.sender, liquidatorSub, sizeWad, priceWad, penaltyWad, insuranceWad
        );
    }

    // ------------------------------------------------------------------------------------------
    // Anyone: closing positions in a settled market
    // ------------------------------------------------------------------------------------------

    /// @notice Close account (owner, sub)'s position in settled market `marketId` at the settlement
    ///         price (anyone may call, also while paused): funding settled, PnL realised, no fee, open
    ///         interest lowered; an account left without positions and with negative collateral has its
    ///         shortfall settled (§5.5). Order: UnknownMarket, MarketNotSettled, NoPosition.
    function closeSettledPosition(address owner, uint256 sub, uint256 marketId) external {
        Market storage m = _market(marketId);
        if (!m.settled) revert MarketNotSettled(marketId);
        int256 sizeOld = _accounts[owner][sub].positions[marketId].size;
        if (sizeOld == 0) revert NoPosition(owner, sub, marketId);
        _fill(marketId, owner, sub, -sizeOld, m.settlementPriceWad, 0);
        m.openInterest -= _longPart(sizeOld);
        _settleBadDebt(owner, sub);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice Number of markets (ids are 0 .. marketCount() − 1).
    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    /// @notice What the margin formulas read of a market: checked oracle price, stored funding index
    ///         (as of the last accrual), imf and mmf (all WAD). Reverts InvalidPrice / StalePrice.
    function marketView(uint256 marketId)
        external
        view
        returns (uint256 priceWad, int256 fundingIndexWad, uint256 imfWad, uint256 mmfWad)
    {
        Market storage m = _market(marketId);
        return (_oraclePrice(marketId, m), m.fundingIndexWad, m.params.imfWad, m.params.mmfWad);
    }

    /// @notice Whether the market is settled, and its settlement price (WAD; 0 while not settled).
    function marketSettlement(uint256 marketId) external view returns (bool settled, uint256 priceWad) {
        Market storage m = _market(marketId);
        return (m.settled, m.settlementPriceWad);
    }

    /// @notice A market's parameters.
    function marketParams(uint256 marketId) external view returns (MarketParams memory) {
        return _market(marketId).params;
    }

    /// @notice A market's oracle, name and funding/open-interest state.
    function marketState(uint256 marketId)
        external
        view
        returns (
            address oracle,
            string memory name,
            int256 fundingRateWad,
            int256 fundingIndexWad,
            uint256 lastFundingTime,
            uint256 openInterest
        )
    {
        Market storage m = _market(marketId);
        return (address(m.oracle), m.name, m.fundingRateWad, m.fundingIndexWad, m.lastFundingTime, m.openInterest);
    }

    /// @notice Number of accounts ever opened (by a deposit, a fill or an incoming transfer).
    function accountCount() external view returns (uint256) {
        return _accountList.length;
    }

    /// @notice The `index`-th account opened (Panic 0x32 past the end).
    function accountAt(uint256 index) external view returns (address owner, uint256 sub) {
        AccountKey storage key = _accountList[index];
        return (key.owner, key.sub);
    }

    /// @notice An account's stored state: whether it exists, collateral (WAD), and its open
    ///         positions with their market ids, in the account's order.
    function accountState(address owner, uint256 sub)
        external
        view
        returns (bool exists, int256 collateralWad, uint256[] memory marketIds, Position[] memory positions)
    {
        Account storage acc = _accounts[owner][sub];
        marketIds = acc.marketIds;
        positions = new Position[](marketIds.length);
        for (uint256 i = 0; i < marketIds.length; ++i) {
            positions[i] = acc.positions[marketIds[i]];
        }
        return (acc.exists, acc.collateral, marketIds, positions);
    }

    /// @notice An account's position in a market (zeros if none): size (WAD base), cost basis (WAD
    ///         quote), funding index at the last settlement (WAD quote per base unit).
    function position(address owner, uint256 sub, uint256 marketId)
        external
        view
        returns (int256 sizeWad, int256 costBasisWad, int256 fundingIndexWad)
    {
        Position storage pos = _accounts[owner][sub].positions[marketId];
        return (pos.size, pos.costBasis, pos.fundingIndex);
    }

    /// @notice An account's collateral, WAD quote (settled funding and realised PnL included).
    function collateral(address owner, uint256 sub) external view returns (int256) {
        return _accounts[owner][sub].collateral;
    }

    /// @notice The vault's collateral-token balance in WAD: balance · 10^(18 − decimals), exact.
    function reservesWad() external view returns (uint256) {
        return collateralToken.balanceOf(address(this)) * collateralScale;
    }

    /// @notice Fees the owner may withdraw, WAD quote: accruedFees − badDebt, or 0 when bad debt is larger.
    function ownerFeesWad() public view returns (uint256) {
        return accruedFees > badDebt ? accruedFees - badDebt : 0;
    }

    /// @notice The running aggregates (spec §5.11): accounts ever opened, Σ collateral (WAD), and per market
    ///         Σ long size, Σ cost basis, Σ size · f.
    function aggregates()
        external
        view
        returns (uint256 accountCount_, int256 collateralSumWad, MarketAggregate[] memory markets)
    {
        markets = new MarketAggregate[](_markets.length);
        for (uint256 i = 0; i < markets.length; ++i) {
            markets[i] = _aggregate(_markets[i]);
        }
        return (_accountList.length, _collateralSumBiased - SUM_BIAS, markets);
    }

    /// @notice Number of checkpoints taken (ids are 1 .. checkpointCount()).
    function checkpointCount() external view returns (uint256) {
        return _checkpointHashes.length;
    }

    /// @notice keccak256(abi.encode(data)) of checkpoint `id` (UnknownCheckpoint unless 1 ≤ id ≤ count).
    function checkpointHash(uint256 id) external view returns (bytes32) {
        return _checkpointHashes[_checkpointIndex(id)];
    }

    /// @notice The block checkpoint `id` was taken in (UnknownCheckpoint unless 1 ≤ id ≤ count).
    function checkpointBlock(uint256 id) external view returns (uint256) {
        return _checkpointBlocks[_checkpointIndex(id)];
    }

    /// @notice Accounts with the keeper role.
    function keepers() external view returns (address[] memory) {
        return _keepers.values();
    }

    /// @notice Accounts with the operator role.
    function operators() external view returns (address[] memory) {
        return _operators.values();
    }

    /// @notice The account's equity (_margins): MarginMath.equity at the checked oracle prices and stored
    ///         funding indices, plus the value of its options for a cross account holding some (WAD quote,
    ///         Floor). The account views below read the same data and revert InvalidPrice / StalePrice
    ///         like the operations.
    function equity(address owner, uint256 sub) external view returns (int256 eq) {
        (eq,,) = _margins(owner, sub);
    }

    /// @notice MarginMath.unrealisedPnl (WAD quote, Floor).
    function unrealisedPnl(address owner, uint256 sub) external view returns (int256) {
        (, MarginMath.PositionData[] memory ps, MarginMath.MarketData[] memory ms) = _accountData(owner, sub);
        return MarginMath.unrealisedPnl(ps, ms);
    }

    /// @notice MarginMath.pendingFunding: funding due (> 0) or owed (< 0) since settlement (WAD quote, Floor).
    function pendingFunding(address owner, uint256 sub) external view returns (int256) {
        (, MarginMath.PositionData[] memory ps, MarginMath.MarketData[] memory ms) = _accountData(owner, sub);
        return MarginMath.pendingFunding(ps, ms);
    }

    /// @notice (equity, initial margin, maintenance margin) of _margins in one call (WAD quote).
    function margins(address owner, uint256 sub) external view returns (int256, uint256, uint256) {
        return _margins(owner, sub);
    }

    /// @notice Initial margin (_margins; WAD quote, Ceil).
    function initialMargin(address owner, uint256 sub) external view returns (uint256 im) {
        (, im,) = _margins(owner, sub);
    }

    /// @notice Maintenance margin (_margins; WAD quote, Ceil).
    function maintenanceMargin(address owner, uint256 sub) external view returns (uint256 mm) {
        (,, mm) = _margins(owner, sub);
    }

    /// @notice Equity − initial margin (WAD quote).
    function freeCollateral(address owner, uint256 sub) external view returns (int256) {
        (int256 eq, uint256 im,) = _margins(owner, sub);
        return eq - int256(im);
    }

    /// @notice ⌊equity·WAD / MM⌋ (WAD, Floor), type(int256).max when MM = 0.
    function marginRatio(address owner, uint256 sub) external view returns (int256) {
        (int256 eq,, uint256 mm) = _margins(owner, sub);
        if (mm == 0) return type(int256).max;
        return FixedPointMath.sMulDiv(eq, WAD_I, int256(mm), FixedPointMath.Rounding.Floor);
    }

    /// @notice Equity < maintenance margin.
    function isLiquidatable(address owner, uint256 sub) external view returns (bool) {
        return _isLiquidatable(owner, sub);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _aggregate(Market storage m) private view returns (MarketAggregate memory) {
        return MarketAggregate(m.openInterest, m.costBasisSumBiased - SUM_BIAS, m.sizeFundingSumBiased - SUM_BIAS);
    }

    function _checkpointIndex(uint256 id) private view returns (uint256) {
        if (id == 0 || id > _checkpointHashes.length) revert UnknownCheckpoint(id);
        return id - 1;
    }

    function _market(uint256 marketId) private view returns (Market storage) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        return _markets[marketId];
    }

    /// @dev The oracle's price, checked: InvalidPrice unless 0 < price < 2^94; StalePrice when
    ///      now > updatedAt + maxPriceAgeS (a timestamp in the future counts as fresh). A settled market's
    ///      price is its settlement price (the oracle is not read).
    function _oraclePrice(uint256 marketId, Market storage m) private view returns (uint256) {
        if (m.settled) return m.settlementPriceWad;
        (int256 price, uint256 updatedAt) = m.oracle.latestPrice();
        if (price <= 0 || uint256(price) >= PRICE_BOUND) revert InvalidPrice(marketId, price);
        if (block.timestamp > updatedAt && block.timestamp - updatedAt > m.params.maxPriceAgeS) {
            revert StalePrice(marketId, updatedAt, block.timestamp);
        }
        return uint256(price);
    }

    /// @dev Accrue funding up to now (spec §5.4) unless the market is settled; returns the checked price.
    function _accrue(uint256 marketId, Market storage m) private returns (uint256 priceWad) {
        priceWad = _oraclePrice(marketId, m);
        if (!m.settled) _accrueAt(marketId, m, priceWad);
    }

    /// @dev F += ⌊rate · Δt · price / WAD⌋ (signed Floor), the sum clamped to [−(2^100 − 1), 2^100 − 1]
    ///      (the event's delta is the change actually made); nothing when Δt = 0.
    function _accrueAt(uint256 marketId, Market storage m, uint256 priceWad) private {
        uint256 elapsed = block.timestamp - m.lastFundingTime;
        if (elapsed == 0) return;
        int256 rate = m.fundingRateWad;
        int256 old = m.fundingIndexWad;
        int256 index =
            old + FixedPointMath.sMulDiv(rate, int256(elapsed * priceWad), WAD_I, FixedPointMath.Rounding.Floor);
        if (index >= FUNDING_INDEX_BOUND) index = FUNDING_INDEX_BOUND - 1;
        else if (index <= -FUNDING_INDEX_BOUND) index = 1 - FUNDING_INDEX_BOUND;
        m.fundingIndexWad = index;
        m.lastFundingTime = block.timestamp;
        emit FundingAccrued(marketId, rate, elapsed, priceWad, index - old, index);
    }

    /// @dev Accrue every market the account holds, in the account's order.
    function _accrueAll(address owner, uint256 sub) private {
        uint256[] storage ids = _accounts[owner][sub].marketIds;
        for (uint256 i = 0; i < ids.length; ++i) {
            _accrue(ids[i], _markets[ids[i]]);
        }
    }

    /// @dev Settle a position's funding: collateral −= ⌈size·(F − f) / WAD⌉ (signed Ceil), f = F.
    function _settleFunding(address owner, uint256 sub, uint256 marketId, Account storage acc, int256 index)
        private
    {
        Position storage pos = acc.positions[marketId];
        if (pos.size == 0 || pos.fundingIndex == index) return;
        int256 owed = FixedPointMath.sMulDiv(pos.size, index - pos.fundingIndex, WAD_I, FixedPointMath.Rounding.Ceil);
        _writePosition(_markets[marketId], pos, pos.size, pos.costBasis, index);
        _setCollateral(owner, sub, acc, acc.collateral - owed);
        emit FundingSettled(owner, sub, marketId, -owed);
    }

    /// @dev Apply a fill of `delta` at `priceWad` to one side (spec §5.3) and charge its fee; returns
    ///      the new size. Opens the account if needed.
    function _fill(uint256 marketId, address owner, uint256 sub, int256 delta, uint256 priceWad, uint256 feeRateWad)
        private
        returns (int256 newSize)
    {
        Account storage acc = _openAccount(owner, sub);
        Market storage m = _markets[marketId];
        _settleFunding(owner, sub, marketId, acc, m.fundingIndexWad);
        Position storage pos = acc.positions[marketId];
        int256 oldSize = pos.size;
        newSize = oldSize + delta;
        if (newSize <= -SIZE_BOUND || newSize >= SIZE_BOUND) revert SizeOutOfBounds(newSize);
        int256 price = int256(priceWad);
        int256 cost = pos.costBasis;
        int256 index = pos.fundingIndex;
        int256 realised = 0;
        if (oldSize == 0) {
            uint256 maxPositions = sub == 0 ? MAX_POSITIONS : 1;
            if (acc.marketIds.length >= maxPositions) revert TooManyPositions(owner, sub, maxPositions);
            acc.marketIds.push(marketId);
            index = m.fundingIndexWad;
            cost = _openCost(delta, price);
        } else if ((delta > 0) == (oldSize > 0)) {
            cost += _openCost(delta, price);
        } else {
            // reduce by `closed` (same sign as the position); a flip closes all and opens the rest
            int256 closed = (newSize == 0 || (newSize > 0) == (oldSize > 0)) ? -delta : oldSize;
            int256 removed = FixedPointMath.sMulDiv(cost, closed, oldSize, FixedPointMath.Rounding.Ceil);
            realised = FixedPointMath.sMulDiv(closed, price, WAD_I, FixedPointMath.Rounding.Floor) - removed;
            cost -= removed;
            if (newSize == 0) {
                _removeMarket(acc, marketId);
                index = 0;
            } else if (closed == oldSize) {
                cost = _openCost(newSize, price);
            }
        }
        // |cost| ≤ |size|·max price / WAD + (one unit per fill) < 2^94·2^94 / 10^18 + 2^64 < 2^130:
        // the cost-basis bound of spec §3 follows from the size and price bounds, unchecked here.
        _writePosition(m, pos, newSize, cost, index);
        uint256 feeWad = FixedPointMath.mulDiv(_abs(delta) * priceWad, feeRateWad, WAD2, FixedPointMath.Rounding.Ceil);
        _setCollateral(owner, sub, acc, acc.collateral + realised - int256(feeWad));
        accruedFees += feeWad;
        emit PositionUpdated(owner, sub, marketId, delta, priceWad, newSize, cost, realised, feeWad);
    }

    /// @dev Cost of opening `size` at `price`: ⌈size·price / WAD⌉ (signed Ceil: longs pay more, shorts receive less).
    function _openCost(int256 size, int256 price) private pure returns (int256) {
        return FixedPointMath.sMulDiv(size, price, WAD_I, FixedPointMath.Rounding.Ceil);
    }

    /// @dev Remove `marketId` from the account's open markets (swap with the last, pop).
    function _removeMarket(Account storage acc, uint256 marketId) private {
        uint256[] storage ids = acc.marketIds;
        uint256 last = ids.length - 1;
        for (uint256 i = 0; i <= last; ++i) {
            if (ids[i] == marketId) {
                ids[i] = ids[last];
                ids.pop();
                return;
            }
        }
    }

    /// @dev An account with no open position and negative collateral: the insurance fund covers
    ///      what it can, the rest is recorded as bad debt, collateral becomes 0.
    function _settleBadDebt(address owner, uint256 sub) private {
        Account storage acc = _accounts[owner][sub];
        if (acc.marketIds.length != 0 || acc.collateral >= 0) return;
        (bool holdsOptions,,,) = _options(owner, sub, new MarginMath.PositionData[](0));
        if (holdsOptions) return;
        uint256 shortfall = uint256(-acc.collateral);
        uint256 covered = shortfall < insuranceFund ? shortfall : insuranceFund;
        insuranceFund -= covered;
        badDebt += shortfall - covered;
        _setCollateral(owner, sub, acc, 0);
        emit BadDebtSettled(owner, sub, covered, shortfall - covered);
    }

    /// @dev Open interest += the sides' change in long size; OpenInterestCap if it grows past the cap.
    function _updateOpenInterest(uint256 marketId, Market storage m, int256 a0, int256 a1, int256 b0, int256 b1)
        private
    {
        uint256 before = m.openInterest;
        uint256 after_ = before + _longPart(a1) + _longPart(b1) - _longPart(a0) - _longPart(b0);
        if (after_ > before && after_ > m.params.maxOpenInterest) {
            revert OpenInterestCap(marketId, after_, m.params.maxOpenInterest);
        }
        m.openInterest = after_;
    }

    /// @dev An account's equity and maintenance margin (WAD quote) at a moment of a fill.
    struct Health {
        int256 equityWad;
        uint256 maintenanceWad;
    }

    /// @dev Accrue the account's markets, then its equity and maintenance margin.
    function _accruedHealth(address owner, uint256 sub) private returns (Health memory h) {
        _accrueAll(owner, sub);
        (h.equityWad, h.maintenanceWad) = _equityAndMaintenance(owner, sub);
    }

    /// @dev The fill-health rule (spec §5.3), on one side after a fill, its markets already accrued
    ///      in this transaction, with E, IM, MM after and E0, MM0 (`before`) before the fill:
    ///      E ≥ IM passes; else a side whose risk grew reverts InsufficientMargin(E, IM); else E < 0
    ///      reverts NegativeEquity(E); else E < ⌈max(E0, 0)·MM / MM0⌉ (Ceil; the margin health E/MM
    ///      fell) reverts MarginHealthDecreased(E0, MM0, E, MM). MM0 > 0 whenever the risk did not grow.
    function _checkFillHealth(address owner, uint256 sub, bool riskGrew, Health memory before) private view {
        (int256 eq, uint256 im, uint256 mm) = _margins(owner, sub);
        if (eq >= int256(im)) return;
        if (riskGrew) revert InsufficientMargin(owner, sub, eq, im);
        if (eq < 0) revert NegativeEquity(owner, sub, eq);
        if (before.equityWad > 0) {
            uint256 floorWad = FixedPointMath.mulDiv(
                uint256(before.equityWad), mm, before.maintenanceWad, FixedPointMath.Rounding.Ceil
            );
            if (uint256(eq) < floorWad) {
                revert MarginHealthDecreased(owner, sub, before.equityWad, before.maintenanceWad, eq, mm);
            }
        }
    }

    /// @dev Liquidation penalty: min(⌈notional·penaltyFraction / WAD²⌉ (Ceil), max(equity, 0)), the
    ///      equity taken after the position transfer, so a penalty never makes the account's equity
    ///      negative (nor is paid by the insurance fund or bad debt). notional = |size|·price (WAD²).
    function _cappedPenalty(address owner, uint256 sub, uint256 notional, uint256 penaltyFractionWad)
        private
        view
        returns (uint256)
    {
        uint256 full = FixedPointMath.mulDiv(notional, penaltyFractionWad, WAD2, FixedPointMath.Rounding.Ceil);
        (int256 eq,) = _equityAndMaintenance(owner, sub);
        if (eq <= 0) return 0;
        return full < uint256(eq) ? full : uint256(eq);
    }

    /// @dev Accrue the account's markets, then require equity ≥ initial margin.
    function _requireInitialMargin(address owner, uint256 sub) private {
        _accrueAll(owner, sub);
        (int256 eq, uint256 im,) = _margins(owner, sub);
        if (eq < int256(im)) revert InsufficientMargin(owner, sub, eq, im);
    }

    function _isLiquidatable(address owner, uint256 sub) private view returns (bool) {
        (int256 eq,, uint256 mm) = _margins(owner, sub);
        return eq < int256(mm);
    }

    function _equityAndMaintenance(address owner, uint256 sub) private view returns (int256 eq, uint256 mm) {
        (eq,, mm) = _margins(owner, sub);
    }

    /// @dev Equity, initial and maintenance margin of the account (WAD quote): MarginMath's over its perps
    ///      (spec §4), or for a cross account holding options (spec §5.13) equity + their value and the
    ///      options module's portfolio margin.
    function _margins(address owner, uint256 sub) private view returns (int256 eq, uint256 im, uint256 mm) {
        (int256 c, MarginMath.PositionData[] memory ps, MarginMath.MarketData[] memory ms) = _accountData(owner, sub);
        eq = MarginMath.equity(c, ps, ms);
        (bool holds, int256 value, uint256 pim, uint256 pmm) = _options(owner, sub, ps);
        if (holds) return (eq + value, pim, pmm);
        return (eq, MarginMath.initialMargin(ps, ms), MarginMath.maintenanceMargin(ps, ms));
    }

    /// @dev The options module's portfolioMargin for a cross account; (false, 0, 0, 0) otherwise or without a module.
    function _options(address owner, uint256 sub, MarginMath.PositionData[] memory ps)
        private
        view
        returns (bool, int256, uint256, uint256)
    {
        if (sub != 0 || address(optionsModule) == address(0)) return (false, 0, 0, 0);
        return optionsModule.portfolioMargin(owner, ps);
    }

    /// @dev The account's collateral and, per open position in the account's order, its data and its
    ///      market's view (checked oracle price, stored funding index, imf, mmf).
    function _accountData(address owner, uint256 sub)
        private
        view
        returns (int256, MarginMath.PositionData[] memory ps, MarginMath.MarketData[] memory ms)
    {
        Account storage acc = _accounts[owner][sub];
        uint256 n = acc.marketIds.length;
        ps = new MarginMath.PositionData[](n);
        ms = new MarginMath.MarketData[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = acc.marketIds[i];
            Market storage m = _markets[id];
            Position storage pos = acc.positions[id];
            ps[i] = MarginMath.PositionData(id, pos.size, pos.costBasis, pos.fundingIndex);
            ms[i] = MarginMath.MarketData(_oraclePrice(id, m), m.fundingIndexWad, m.params.imfWad, m.params.mmfWad);
        }
        return (acc.collateral, ps, ms);
    }

    function _openAccount(address owner, uint256 sub) private returns (Account storage acc) {
        acc = _accounts[owner][sub];
        if (!acc.exists) {
            acc.exists = true;
            _accountList.push(AccountKey(owner, sub));
            emit AccountOpened(owner, sub);
        }
    }

    /// @dev Every collateral write: CollateralOutOfBounds unless |value| < 2^128; keeps Σ collateral.
    function _setCollateral(address owner, uint256 sub, Account storage acc, int256 value) private {
        if (value <= -COLLATERAL_BOUND || value >= COLLATERAL_BOUND) revert CollateralOutOfBounds(owner, sub, value);
        _collateralSumBiased += value - acc.collateral;
        acc.collateral = value;
    }

    /// @dev Every position write: keeps the market's Σ cost basis and Σ size·f (exact products; the
    ///      long size is openInterest, kept by _updateOpenInterest).
    function _writePosition(Market storage m, Position storage pos, int256 size, int256 costBasis, int256 fundingIndex)
        private
    {
        m.costBasisSumBiased += costBasis - pos.costBasis;
        m.sizeFundingSumBiased += size * fundingIndex - pos.size * pos.fundingIndex;
        pos.size = size;
        pos.costBasis = costBasis;
        pos.fundingIndex = fundingIndex;
    }

    /// @dev collateral −= amountWad, which must not exceed the collateral (InsufficientCollateral).
    function _debit(address owner, uint256 sub, Account storage acc, uint256 amountWad) private {
        int256 c = acc.collateral;
        if (c < int256(amountWad)) revert InsufficientCollateral(owner, sub, c, amountWad);
        _setCollateral(owner, sub, acc, c - int256(amountWad));
    }

    /// @dev Token units to WAD: ZeroAmount, AmountOutOfBounds (≥ 2^128), else tokens · scale (exact).
    function _toWad(uint256 amountTokens) private view returns (uint256) {
        _checkAmount(amountTokens);
        return amountTokens * collateralScale;
    }

    /// @dev Pull `amountTokens` from the caller; ShortDelivery unless the vault's balance grew by at least that.
    function _pullTokens(uint256 amountTokens) private {
        uint256 before = collateralToken.balanceOf(address(this));
        collateralToken.safeTransferFrom(msg.sender, address(this), amountTokens);
        uint256 received = collateralToken.balanceOf(address(this)) - before;
        if (received < amountTokens) revert ShortDelivery(amountTokens, received);
    }

    function _checkAmount(uint256 amount) private pure {
        if (amount == 0) revert ZeroAmount();
        if (amount >= AMOUNT_BOUND) revert AmountOutOfBounds(amount);
    }

    function _checkRate(uint256 marketId, int256 rateWad, uint256 maxRateWad) private pure {
        if (rateWad > int256(maxRateWad) || rateWad < -int256(maxRateWad)) {
            revert FundingRateOutOfBounds(marketId, rateWad, maxRateWad);
        }
    }

    /// @dev A fill price must satisfy 0 < price < 2^94 and
    ///      oracle·(WAD − band) ≤ price·WAD ≤ oracle·(WAD + band) (exact integers, no rounding).
    function _checkBand(uint256 marketId, Market storage m, uint256 priceWad, uint256 oraclePriceWad) private view {
        uint256 band = m.params.priceBandWad;
        if (
            priceWad == 0 || priceWad >= PRICE_BOUND || priceWad * WAD < oraclePriceWad * (WAD - band)
                || priceWad * WAD > oraclePriceWad * (WAD + band)
        ) revert PriceOutsideBand(marketId, priceWad, oraclePriceWad);
    }

    function _checkOracle(IPriceOracle oracle) private view {
        if (address(oracle).code.length == 0) revert InvalidMarketParams("oracle");
    }

    /// @dev Checked in this order; the first failure names its field.
    function _checkParams(MarketParams calldata p) private pure {
        if (p.imfWad == 0 || p.imfWad > WAD) revert InvalidMarketParams("imfWad");
        if (p.mmfWad == 0 || p.mmfWad >= p.imfWad) revert InvalidMarketParams("mmfWad");
        if (p.takerFeeWad > WAD) revert InvalidMarketParams("takerFeeWad");
        if (p.makerFeeWad > WAD) revert InvalidMarketParams("makerFeeWad");
        if (p.liquidationPenaltyWad > WAD) revert InvalidMarketParams("liquidationPenaltyWad");
        if (p.insuranceShareWad > WAD) revert InvalidMarketParams("insuranceShareWad");
        if (p.maxOpenInterest >= uint256(SIZE_BOUND)) revert InvalidMarketParams("maxOpenInterest");
        if (p.maxPriceAgeS == 0) revert InvalidMarketParams("maxPriceAgeS");
        if (p.priceBandWad >= WAD) revert InvalidMarketParams("priceBandWad");
        if (p.maxFundingRateWad > MAX_FUNDING_RATE_WAD) revert InvalidMarketParams("maxFundingRateWad");
    }

    /// @dev A fill increases risk when |new| > |old| or the sign changes.
    function _increasesRisk(int256 oldSize, int256 newSize) private pure returns (bool) {
        return _abs(newSize) > _abs(oldSize) || (oldSize > 0 && newSize < 0) || (oldSize < 0 && newSize > 0);
    }

    function _longPart(int256 size) private pure returns (uint256) {
        return size > 0 ? uint256(size) : 0;
    }

    function _abs(int256 x) private pure returns (uint256) {
        return x < 0 ? uint256(-x) : uint256(x);
    }
}
