// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarginEngine} from "../../contracts/MarginEngine.sol";
import {DevOracle} from "../../contracts/oracles/DevOracle.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {IPriceOracle} from "../../contracts/interfaces/IPriceOracle.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title EngineHandler
/// @notice Drives one MarginEngine for forge's invariant fuzzer: three actors (real secp256k1 keys)
///         with a cross account (sub 0) and an isolated one (sub 1) each, two markets on DevOracles.
///         Every action takes raw uint256 seeds and turns them into full-precision amounts, sizes,
///         prices, rates and times, so every rounding site of the engine sees remainders.
///
///         After each action the handler checks, against the state before it, the properties of
///         docs/spec.md §5.6 and records the first violation of each kind (a handler that reverted
///         would have its evidence rolled back, so nothing here reverts on a violation):
///         - Solvency: the slack S = reserves·WAD − (Σ Q + (insurance + fees − bad debt)·WAD) never
///           falls, stays unchanged by every operation without a fill, and grows by at most
///           WAD − 1 per rounding site of a fill or liquidation (FILL_ROUNDING_SITES of them) and
///           2·(WAD − 1) per open position of a market being settled.
///         - The insurance fund never pays for a profit: a shortfall settled in an operation
///           (insurance cover plus bad debt) is at most the account's negative equity before it.
///         - No account is left below initial margin by an operation that increased its risk.
///         - A liquidated account never loses more than its equity allowed.
contract EngineHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant N_ACTORS = 3;
    uint256 internal constant N_SUBS = 2; // sub 0 cross, sub 1 isolated
    uint256 internal constant N_MARKETS = 2;
    uint8 internal constant TOKEN_DECIMALS = 6;
    uint256 internal constant SIZE_BOUND = 2 ** 94;
    /// @dev Rounding sites of one fill or liquidation: per side a funding settlement (Ceil), a close
    ///      (Floor of the realised value) and, on a flip, an open (Ceil of the cost) — spec §5.6.
    uint256 internal constant FILL_ROUNDING_SITES = 6;
    /// @dev Closing a position at the oracle price changes nothing but rounding: equity takes one
    ///      Floor over all positions, the close takes a Ceil (funding), a Floor (realised value) and
    ///      leaves a Floor over the other positions, so equity falls by at most 2 wei. The tolerance
    ///      of the shortfall and liquidation-loss checks (spec §5.6).
    int256 internal constant EQUITY_ROUNDING_WEI = 2;

    bytes32 internal constant BAD_DEBT_SETTLED = keccak256("BadDebtSettled(address,uint256,uint256,uint256)");

    enum Kind {
        Solvency,
        InsurancePaysProfit,
        BelowInitialMargin,
        LiquidationLoss
    }

    enum Op {
        Deposit,
        Withdraw,
        Transfer,
        Trade,
        SetFundingRate,
        MovePrice,
        Warp,
        Liquidate,
        WithdrawFees,
        DepositInsurance,
        SettleMarket,
        CloseSettledPosition
    }

    MarginEngine public immutable engine;
    TestToken public immutable token;
    uint256 public immutable scale; // WAD per token unit
    DevOracle[N_MARKETS] public oracles;
    address[N_ACTORS] public actors;
    mapping(address => uint256) internal keyOf; // an actor's private key (signs its orders)
    mapping(address => uint256) internal nonces; // an actor's next order nonce
    address public constant FEE_SINK = address(0xFEE5);

    /// @notice The solvency slack after the last action (WAD² quote).
    int256 public slack;
    /// @notice Per Kind: how many violations, and a description of the first.
    uint256[4] public violations;
    string[4] internal _firstViolation;
    /// @notice Per Op: calls, and calls in which the engine accepted the operation.
    uint256[12] public calls;
    uint256[12] public accepted;
    /// @notice Shortfalls settled (bad-debt events) and liquidations that closed a whole position.
    uint256 public shortfalls;
    uint256 public fullLiquidations;

    constructor() {
        token = new TestToken("Test USD", "tUSD", TOKEN_DECIMALS);
        engine = new MarginEngine(token, address(this));
        scale = engine.collateralScale();
        engine.setOperator(address(this), true);
        engine.setKeeper(address(this), true);
        // non-round prices, so no fill price or notional is a round number
        int256[N_MARKETS] memory prices = [int256(1987.654321012345678901e18), int256(31.415926535897932384e18)];
        for (uint256 m = 0; m < N_MARKETS; ++m) {
            oracles[m] = new DevOracle(address(this), prices[m]);
            engine.addMarket(IPriceOracle(address(oracles[m])), m == 0 ? "ETH-PERP" : "SOL-PERP", _params(m));
        }
        for (uint256 i = 0; i < N_ACTORS; ++i) {
            uint256 key = uint256(keccak256(abi.encode("pymargin.forge.actor", i)));
            actors[i] = vm.addr(key);
            keyOf[actors[i]] = key;
            vm.label(actors[i], string.concat("actor", vm.toString(i)));
            token.mint(actors[i], 10 ** 15); // 10^9 tokens
            vm.prank(actors[i]);
            token.approve(address(engine), type(uint256).max);
            for (uint256 sub = 0; sub < N_SUBS; ++sub) {
                vm.prank(actors[i]);
                engine.deposit(sub, 7_345_678_901 + 1_234_567_891 * (2 * i + sub)); // 7,345.678901 tokens and up
            }
        }
        token.mint(address(this), 10 ** 15);
        token.approve(address(engine), type(uint256).max);
        engine.depositInsurance(1_618_033_988); // 1,618.033988 tokens
        slack = solvencySlack();
    }

    // ------------------------------------------------------------------------------------------
    // Actions (the fuzzer's targets)
    // ------------------------------------------------------------------------------------------

    /// @notice An actor deposits 1 token unit .. 25,000 tokens into one of its sub-accounts.
    function deposit(uint256 who, uint256 amountSeed) external {
        (address owner, uint256 sub) = _account(who);
        uint256 tokens = 1 + amountSeed % 25_000e6;
        ++calls[uint256(Op.Deposit)];
        vm.prank(owner);
        try engine.deposit(sub, tokens) {
            ++accepted[uint256(Op.Deposit)];
        } catch {}
        _checkSlack("deposit", 0);
    }

    /// @notice An actor withdraws a random part of its collateral, or (one in four) all its free collateral.
    function withdraw(uint256 who, uint256 amountSeed) external {
        (address owner, uint256 sub) = _account(who);
        uint256 tokens = _collateralPart(owner, sub, amountSeed) / scale;
        ++calls[uint256(Op.Withdraw)];
        vm.prank(owner);
        try engine.withdraw(sub, tokens) {
            ++accepted[uint256(Op.Withdraw)];
            _checkInitialMargin("withdraw", owner, sub);
        } catch {}
        _checkSlack("withdraw", 0);
    }

    /// @notice An actor moves a random part of one sub-account's collateral (WAD, full precision) to its other.
    function transferCollateral(uint256 who, uint256 amountSeed) external {
        (address owner, uint256 fromSub) = _account(who);
        uint256 toSub = (fromSub + 1) % N_SUBS;
        uint256 amountWad = _collateralPart(owner, fromSub, amountSeed);
        ++calls[uint256(Op.Transfer)];
        vm.prank(owner);
        try engine.transferCollateral(fromSub, toSub, amountWad) {
            ++accepted[uint256(Op.Transfer)];
            _checkInitialMargin("transferCollateral", owner, fromSub);
        } catch {}
        _checkSlack("transferCollateral", 0);
    }

    /// @notice A matched fill between two accounts (possibly two sub-accounts of one owner) at a price
    ///         inside the band, one in four at each band edge. The size opens up to 1.25× what the
    ///         taker's free collateral allows, or (one in four each) closes the taker's or the maker's
    ///         whole position.
    function trade(uint256 takerSeed, uint256 makerSeed, uint256 marketSeed, uint256 sizeSeed, uint256 priceSeed)
        external
    {
        uint256 marketId = marketSeed % N_MARKETS;
        (address taker, uint256 takerSub) = _account(takerSeed);
        (address maker, uint256 makerSub) = _account(makerSeed);
        // one owner on both sides (a wash trade between its sub-accounts) one time in eight
        if (maker == taker && (makerSeed >> 128) % 8 != 0) maker = actors[(takerSeed % N_ACTORS + 1) % N_ACTORS];
        uint256 priceWad = _bandPrice(marketId, priceSeed);
        int256 sizeWad = _tradeSize(marketId, taker, takerSub, maker, makerSub, priceWad, sizeSeed);
        ++calls[uint256(Op.Trade)];
        if (sizeWad == 0 || sizeWad <= -int256(SIZE_BOUND) || sizeWad >= int256(SIZE_BOUND)) return;
        _accrueAll();
        int256 takerEq = _equityOr(taker, takerSub, 0);
        int256 makerEq = _equityOr(maker, makerSub, 0);
        int256 takerOld = _size(taker, takerSub, marketId);
        int256 makerOld = _size(maker, makerSub, marketId);
        vm.recordLogs();
        bool ok = _submitTrade(marketId, taker, takerSub, maker, makerSub, sizeWad, priceWad);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (ok) {
            ++accepted[uint256(Op.Trade)];
            _checkShortfall("trade", taker, takerSub, takerEq, logs);
            _checkShortfall("trade", maker, makerSub, makerEq, logs);
            if (_increasesRisk(takerOld, takerOld + sizeWad)) _checkInitialMargin("trade", taker, takerSub);
            if (_increasesRisk(makerOld, makerOld - sizeWad)) _checkInitialMargin("trade", maker, makerSub);
        }
        _checkSlack("trade", FILL_ROUNDING_SITES);
    }

    /// @notice The keeper sets a funding rate: full precision within ±cap, one in four at the cap.
    function setFundingRate(uint256 marketSeed, uint256 rateSeed) external {
        uint256 marketId = marketSeed % N_MARKETS;
        uint256 cap = engine.marketParams(marketId).maxFundingRateWad;
        uint256 magnitude = rateSeed % 4 == 0 ? cap : (rateSeed >> 8) % (cap + 1);
        int256 rate = (rateSeed >> 2) % 2 == 0 ? int256(magnitude) : -int256(magnitude);
        ++calls[uint256(Op.SetFundingRate)];
        try engine.setFundingRate(marketId, rate) {
            ++accepted[uint256(Op.SetFundingRate)];
        } catch {}
        _checkSlack("setFundingRate", 0);
    }

    /// @notice The oracle moves by a full-precision fraction of up to ±15%, one time in four up to ±40%
    ///         (a gap that leaves levered accounts below zero); timestamp now.
    function movePrice(uint256 marketSeed, uint256 moveSeed) external {
        uint256 marketId = marketSeed % N_MARKETS;
        (int256 price,) = oracles[marketId].latestPrice();
        uint256 maxMove = (moveSeed >> 1) % 4 == 0 ? 0.4e18 : 0.15e18;
        int256 move = price * int256((moveSeed >> 3) % maxMove) / int256(WAD);
        price = moveSeed % 2 == 0 ? price + move : price - move;
        if (price < 1e15) price = 1e15;
        ++calls[uint256(Op.MovePrice)];
        oracles[marketId].setPrice(price, block.timestamp);
        ++accepted[uint256(Op.MovePrice)];
        _checkSlack("movePrice", 0);
    }

    /// @notice Time passes (1 s .. 2 h); the oracles report again at the new time, except one in eight
    ///         times, when they go stale.
    function warp(uint256 secondsSeed) external {
        ++calls[uint256(Op.Warp)];
        vm.warp(block.timestamp + 1 + (secondsSeed >> 3) % 7200);
        if (secondsSeed % 8 != 0) {
            for (uint256 m = 0; m < N_MARKETS; ++m) {
                (int256 price,) = oracles[m].latestPrice();
                oracles[m].setPrice(price, block.timestamp);
            }
        }
        ++accepted[uint256(Op.Warp)];
        _checkSlack("warp", 0);
    }

    /// @notice Liquidate one of the liquidatable accounts (if any), from any actor's sub-account (the
    ///         account's own owner's other sub-account included): the whole position, or (one time
    ///         in four) a full-precision part of it.
    function liquidate(uint256 targetSeed, uint256 liquidatorSeed, uint256 sizeSeed) external {
        ++calls[uint256(Op.Liquidate)];
        _accrueAll();
        (bool found, address owner, uint256 sub) = _liquidatableAccount(targetSeed);
        if (!found) return;
        (, , uint256[] memory marketIds, MarginEngine.Position[] memory positions) = engine.accountState(owner, sub);
        uint256 k = sizeSeed % marketIds.length;
        int256 size = positions[k].size;
        bool full = (sizeSeed >> 8) % 4 != 0;
        if (!full) size = size * int256((sizeSeed >> 9) % WAD) / int256(WAD);
        if (size == 0) size = positions[k].size;
        (address liquidator, uint256 liquidatorSub) = _account(liquidatorSeed);
        int256 equityBefore = engine.equity(owner, sub);
        vm.recordLogs();
        vm.prank(liquidator);
        try engine.liquidate(liquidatorSub, owner, sub, marketIds[k], size) {
            Vm.Log[] memory logs = vm.getRecordedLogs();
            ++accepted[uint256(Op.Liquidate)];
            if (size == positions[k].size) ++fullLiquidations;
            int256 shortfall = _shortfall(owner, sub, logs);
            _checkShortfall("liquidate", owner, sub, equityBefore, logs);
            // what the account has after the liquidation, before its shortfall (if any) was written off
            int256 equityAfter = _equityOr(owner, sub, 0) - shortfall;
            int256 floor_ = (equityBefore < 0 ? equityBefore : int256(0)) - EQUITY_ROUNDING_WEI;
            if (equityAfter < floor_) {
                _violate(
                    Kind.LiquidationLoss,
                    string.concat(
                        "liquidation of ",
                        _name(owner, sub),
                        " left equity ",
                        vm.toString(equityAfter),
                        " from ",
                        vm.toString(equityBefore)
                    )
                );
            }
            _checkInitialMargin("liquidate (liquidator)", liquidator, liquidatorSub);
        } catch {
            vm.getRecordedLogs();
        }
        _checkSlack("liquidate", FILL_ROUNDING_SITES);
    }

    /// @notice The owner withdraws a random part of the accrued fees (token units, Floor).
    function withdrawFees(uint256 amountSeed) external {
        uint256 available = engine.accruedFees() / scale;
        ++calls[uint256(Op.WithdrawFees)];
        if (available == 0) return;
        try engine.withdrawFees(FEE_SINK, 1 + amountSeed % available) {
            ++accepted[uint256(Op.WithdrawFees)];
        } catch {}
        _checkSlack("withdrawFees", 0);
    }

    /// @notice Someone adds 1 token unit .. 5,000 tokens to the insurance fund.
    function depositInsurance(uint256 amountSeed) external {
        ++calls[uint256(Op.DepositInsurance)];
        try engine.depositInsurance(1 + amountSeed % 5_000e6) {
            ++accepted[uint256(Op.DepositInsurance)];
        } catch {}
        _checkSlack("depositInsurance", 0);
    }

    /// @notice One in four calls, the owner settles the last market for good at a price within 5% of
    ///         its oracle (full precision); the first market always stays open for trading.
    function settleMarket(uint256 seed) external {
        ++calls[uint256(Op.SettleMarket)];
        if (seed % 4 != 0) return;
        uint256 marketId = N_MARKETS - 1;
        (int256 p,) = oracles[marketId].latestPrice();
        uint256 move = uint256(p) * ((seed >> 2) % 0.05e18) / WAD;
        uint256 priceWad = (seed >> 1) % 2 == 0 ? uint256(p) + move : uint256(p) - move;
        uint256 positions = 0; // two rounding sites each (spec §5.6)
        for (uint256 i = 0; i < N_ACTORS * N_SUBS; ++i) {
            (address owner, uint256 sub) = _account(i);
            if (_size(owner, sub, marketId) != 0) ++positions;
        }
        try engine.settleMarket(marketId, priceWad) {
            ++accepted[uint256(Op.SettleMarket)];
        } catch {}
        _checkSlack("settleMarket", 2 * positions);
    }

    /// @notice Anyone closes an account's position in a settled market at the settlement price.
    function closeSettledPosition(uint256 seed) external {
        ++calls[uint256(Op.CloseSettledPosition)];
        uint256 marketId = N_MARKETS - 1;
        (bool settled,) = engine.marketSettlement(marketId);
        if (!settled) return;
        uint256 n = N_ACTORS * N_SUBS;
        for (uint256 i = 0; i < n; ++i) {
            (address owner, uint256 sub) = _account(seed % n + i);
            if (_size(owner, sub, marketId) == 0) continue;
            _accrueAll();
            int256 equityBefore = _equityOr(owner, sub, 0);
            vm.recordLogs();
            try engine.closeSettledPosition(owner, sub, marketId) {
                ++accepted[uint256(Op.CloseSettledPosition)];
                _checkShortfall("closeSettledPosition", owner, sub, equityBefore, vm.getRecordedLogs());
            } catch {
                vm.getRecordedLogs();
            }
            _checkSlack("closeSettledPosition", 0);
            return;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Views for the invariants
    // ------------------------------------------------------------------------------------------

    /// @notice The first violation of `kind` ("" if none).
    function firstViolation(Kind kind) external view returns (string memory) {
        return _firstViolation[uint256(kind)];
    }

    /// @notice The action functions the fuzzer calls.
    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](12);
        s[0] = this.deposit.selector;
        s[1] = this.withdraw.selector;
        s[2] = this.transferCollateral.selector;
        s[3] = this.trade.selector;
        s[4] = this.setFundingRate.selector;
        s[5] = this.movePrice.selector;
        s[6] = this.warp.selector;
        s[7] = this.liquidate.selector;
        s[8] = this.withdrawFees.selector;
        s[9] = this.depositInsurance.selector;
        s[10] = this.settleMarket.selector;
        s[11] = this.closeSettledPosition.selector;
    }

    /// @notice reserves·WAD − (Σ Q + (insurance + fees − bad debt)·WAD), WAD² quote (spec §5.6), with
    ///         Q(account) = collateral·WAD − Σ (cost·WAD − size·fundingIndex) over positions in open
    ///         markets, and (⌊size·q / WAD⌋ − cost − ⌈size·(F − f) / WAD⌉)·WAD for a position in a
    ///         settled market (q the settlement price, F the final index: what closing it will credit).
    function solvencySlack() public view returns (int256) {
        bool[N_MARKETS] memory settled;
        uint256[N_MARKETS] memory finalPrice;
        int256[N_MARKETS] memory finalIndex;
        for (uint256 m = 0; m < N_MARKETS; ++m) {
            (settled[m], finalPrice[m]) = engine.marketSettlement(m);
            (,,, finalIndex[m],,) = engine.marketState(m);
        }
        int256 liabilities = 0;
        uint256 n = engine.accountCount();
        for (uint256 i = 0; i < n; ++i) {
            (address owner, uint256 sub) = engine.accountAt(i);
            (, int256 c, uint256[] memory ids, MarginEngine.Position[] memory ps) = engine.accountState(owner, sub);
            liabilities += c * int256(WAD);
            for (uint256 j = 0; j < ps.length; ++j) {
                MarginEngine.Position memory p = ps[j];
                uint256 m = ids[j];
                if (settled[m]) {
                    int256 close = _floorDiv(p.size * int256(finalPrice[m]), int256(WAD));
                    int256 owed = -_floorDiv(-(p.size * (finalIndex[m] - p.fundingIndex)), int256(WAD)); // Ceil
                    liabilities += (close - p.costBasis - owed) * int256(WAD);
                } else {
                    liabilities -= p.costBasis * int256(WAD) - p.size * p.fundingIndex;
                }
            }
        }
        liabilities += (int256(engine.insuranceFund()) + int256(engine.accruedFees()) - int256(engine.badDebt()))
            * int256(WAD);
        return int256(engine.reservesWad()) * int256(WAD) - liabilities;
    }

    // ------------------------------------------------------------------------------------------
    // The fill (the one place that knows how the operator submits a matched pair)
    // ------------------------------------------------------------------------------------------

    /// @dev Submit the fill as the operator: each side signs an order (EIP-712, its actor's key) for
    ///      exactly its side of the fill, limit at the fill price, fee cap at the market's fee; true if
    ///      the engine accepted the fill.
    function _submitTrade(
        uint256 marketId,
        address taker,
        uint256 takerSub,
        address maker,
        uint256 makerSub,
        int256 sizeWad,
        uint256 priceWad
    ) internal returns (bool) {
        MarginEngine.MarketParams memory p = engine.marketParams(marketId);
        (MarginEngine.Order memory takerOrder, bytes memory takerSig) =
            _signedOrder(taker, takerSub, marketId, sizeWad, priceWad, p.takerFeeWad);
        (MarginEngine.Order memory makerOrder, bytes memory makerSig) =
            _signedOrder(maker, makerSub, marketId, -sizeWad, priceWad, p.makerFeeWad);
        try engine.trade(takerOrder, takerSig, makerOrder, makerSig, sizeWad, priceWad) {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev An order of `owner` for `sizeWad` at limit `priceWad`, fresh nonce, valid for an hour,
    ///      signed with the owner's key over the engine's EIP-712 digest (r ‖ s ‖ v).
    function _signedOrder(
        address owner,
        uint256 sub,
        uint256 marketId,
        int256 sizeWad,
        uint256 priceWad,
        uint256 feeWad
    ) internal returns (MarginEngine.Order memory order, bytes memory sig) {
        order = MarginEngine.Order({
            owner: owner,
            sub: sub,
            marketId: marketId,
            sizeWad: sizeWad,
            limitPriceWad: priceWad,
            maxFeeWad: feeWad,
            nonce: nonces[owner]++,
            expiry: block.timestamp + 3600
        });
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(keyOf[owner], engine.orderDigest(order));
        sig = abi.encodePacked(r, s_, v);
    }

    // ------------------------------------------------------------------------------------------
    // Checks
    // ------------------------------------------------------------------------------------------

    /// @dev The slack may not fall, and may grow by at most (WAD − 1) per rounding site.
    function _checkSlack(string memory op, uint256 roundingSites) internal {
        int256 now_ = solvencySlack();
        int256 grown = now_ - slack;
        if (grown < 0 || grown > int256(roundingSites * (WAD - 1))) {
            _violate(
                Kind.Solvency,
                string.concat(op, ": solvency slack ", vm.toString(slack), " -> ", vm.toString(now_))
            );
        }
        slack = now_;
    }

    /// @dev A shortfall settled for the account in this operation must not exceed its negative
    ///      equity before it: anything more is a loss the operation itself created and the
    ///      insurance fund (or bad debt) paid, i.e. someone's profit.
    function _checkShortfall(string memory op, address owner, uint256 sub, int256 equityBefore, Vm.Log[] memory logs)
        internal
    {
        int256 shortfall = _shortfall(owner, sub, logs);
        if (shortfall == 0) return;
        ++shortfalls;
        int256 allowed = (equityBefore < 0 ? -equityBefore : int256(0)) + EQUITY_ROUNDING_WEI;
        if (shortfall > allowed) {
            _violate(
                Kind.InsurancePaysProfit,
                string.concat(
                    op,
                    ": shortfall ",
                    vm.toString(shortfall),
                    " of ",
                    _name(owner, sub),
                    " settled by insurance/bad debt, equity before ",
                    vm.toString(equityBefore)
                )
            );
        }
    }

    /// @dev Equity ≥ initial margin, read right after the operation (which accrued the account's
    ///      markets, so the views cannot revert on a stale price: if they do, that is recorded too).
    function _checkInitialMargin(string memory op, address owner, uint256 sub) internal {
        int256 eq;
        uint256 im;
        try engine.equity(owner, sub) returns (int256 e) {
            eq = e;
            im = engine.initialMargin(owner, sub);
        } catch {
            _violate(Kind.BelowInitialMargin, string.concat(op, ": margin views of ", _name(owner, sub), " revert"));
            return;
        }
        if (eq < int256(im)) {
            _violate(
                Kind.BelowInitialMargin,
                string.concat(op, ": ", _name(owner, sub), " equity ", vm.toString(eq), " < IM ", vm.toString(im))
            );
        }
    }

    function _violate(Kind kind, string memory what) internal {
        if (violations[uint256(kind)]++ == 0) _firstViolation[uint256(kind)] = what;
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _params(uint256 marketId) internal pure returns (MarginEngine.MarketParams memory) {
        return MarginEngine.MarketParams({
            imfWad: marketId == 0 ? 0.1e18 : 0.2e18,
            mmfWad: marketId == 0 ? 0.05e18 : 0.1e18,
            takerFeeWad: 0.0005e18,
            makerFeeWad: 0.0002e18,
            liquidationPenaltyWad: 0.02e18,
            insuranceShareWad: 0.5e18,
            maxOpenInterest: 10 ** 6 * WAD,
            maxPriceAgeS: 3600,
            priceBandWad: 0.05e18,
            maxFundingRateWad: 1e12
        });
    }

    /// @dev (actor, sub) from a seed: actor = seed mod 3, sub = (seed / 3) mod 2.
    function _account(uint256 seed) internal view returns (address, uint256) {
        return (actors[seed % N_ACTORS], (seed / N_ACTORS) % N_SUBS);
    }

    function _name(address owner, uint256 sub) internal pure returns (string memory) {
        return string.concat(vm.toString(owner), ":", vm.toString(sub));
    }

    /// @dev A WAD amount of the account's collateral: one in four its free collateral (the most a
    ///      withdrawal can take), else a random part of [1, collateral]; at least 1.
    function _collateralPart(address owner, uint256 sub, uint256 seed) internal view returns (uint256) {
        int256 c = engine.collateral(owner, sub);
        if (seed % 4 == 0) {
            try engine.freeCollateral(owner, sub) returns (int256 free) {
                if (free > 0) return uint256(free < c ? free : c);
            } catch {}
        }
        if (c <= 0) return 1 + seed % 1e24;
        return 1 + (seed >> 2) % uint256(c);
    }

    /// @dev A price inside the market's band around the oracle: one in four at the lowest, one in four at
    ///      the highest, else uniform. Falls back to the oracle price if it is unusable.
    function _bandPrice(uint256 marketId, uint256 seed) internal view returns (uint256) {
        (int256 p,) = oracles[marketId].latestPrice();
        uint256 oracle = uint256(p);
        uint256 band = engine.marketParams(marketId).priceBandWad;
        uint256 low = (oracle * (WAD - band) + WAD - 1) / WAD; // Ceil: q·WAD ≥ oracle·(WAD − band)
        uint256 high = oracle * (WAD + band) / WAD; // Floor: q·WAD ≤ oracle·(WAD + band)
        if (seed % 4 == 0) return low;
        if (seed % 4 == 1) return high;
        return low + (seed >> 2) % (high - low + 1);
    }

    /// @dev The taker's signed size: one in four closes the taker's whole position, one in four the
    ///      maker's (when there is one), else up to 1.25× what the smaller free collateral of the two
    ///      allows at the market's initial margin fraction (free · WAD / (price · imf)), random sign.
    function _tradeSize(
        uint256 marketId,
        address taker,
        uint256 takerSub,
        address maker,
        uint256 makerSub,
        uint256 priceWad,
        uint256 seed
    ) internal view returns (int256) {
        int256 takerSize = _size(taker, takerSub, marketId);
        int256 makerSize = _size(maker, makerSub, marketId);
        if (seed % 4 == 0 && takerSize != 0) return -takerSize;
        if (seed % 4 == 1 && makerSize != 0) return makerSize;
        uint256 free = _free(taker, takerSub);
        uint256 makerFree = _free(maker, makerSub);
        if (makerFree < free) free = makerFree;
        uint256 imf = engine.marketParams(marketId).imfWad;
        uint256 maxSize = free * WAD / priceWad * WAD / imf; // WAD base units
        uint256 size = 1 + (seed >> 3) % (maxSize * 5 / 4 + 1e15);
        if (size >= SIZE_BOUND) size = SIZE_BOUND - 1;
        return (seed >> 2) % 2 == 0 ? int256(size) : -int256(size);
    }

    /// @dev The account's free collateral, 0 when negative or unreadable (stale oracle).
    function _free(address owner, uint256 sub) internal view returns (uint256) {
        try engine.freeCollateral(owner, sub) returns (int256 f) {
            return f > 0 ? uint256(f) : 0;
        } catch {
            return 0;
        }
    }

    /// @dev Accrue funding in every market (ignored where the oracle is stale or bad): equity views
    ///      then include funding up to now, as the operation about to run will.
    function _accrueAll() internal {
        for (uint256 m = 0; m < N_MARKETS; ++m) {
            try engine.accrueFunding(m) {} catch {}
        }
    }

    function _equityOr(address owner, uint256 sub, int256 fallback_) internal view returns (int256) {
        try engine.equity(owner, sub) returns (int256 eq) {
            return eq;
        } catch {
            return fallback_;
        }
    }

    function _size(address owner, uint256 sub, uint256 marketId) internal view returns (int256 size) {
        (size,,) = engine.position(owner, sub, marketId);
    }

    /// @dev The first liquidatable account at or after position `seed` in the actor × sub list.
    function _liquidatableAccount(uint256 seed) internal view returns (bool, address, uint256) {
        uint256 n = N_ACTORS * N_SUBS;
        for (uint256 i = 0; i < n; ++i) {
            (address owner, uint256 sub) = _account(seed % n + i);
            try engine.isLiquidatable(owner, sub) returns (bool yes) {
                if (yes) return (true, owner, sub);
            } catch {}
        }
        return (false, address(0), 0);
    }

    /// @dev Insurance cover plus bad debt settled for the account in the recorded events (WAD).
    function _shortfall(address owner, uint256 sub, Vm.Log[] memory logs) internal view returns (int256 total) {
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            if (
                log.emitter == address(engine) && log.topics.length == 3 && log.topics[0] == BAD_DEBT_SETTLED
                    && address(uint160(uint256(log.topics[1]))) == owner && uint256(log.topics[2]) == sub
            ) {
                (uint256 covered, uint256 bad) = abi.decode(log.data, (uint256, uint256));
                total += int256(covered + bad);
            }
        }
    }

    /// @dev ⌊a / d⌋ for d > 0 (Solidity's `/` truncates toward zero).
    function _floorDiv(int256 a, int256 d) internal pure returns (int256 q) {
        q = a / d;
        if (a % d != 0 && a < 0) --q;
    }

    function _increasesRisk(int256 oldSize, int256 newSize) internal pure returns (bool) {
        return _abs(newSize) > _abs(oldSize) || (oldSize > 0 && newSize < 0) || (oldSize < 0 && newSize > 0);
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x < 0 ? uint256(-x) : uint256(x);
    }
}
