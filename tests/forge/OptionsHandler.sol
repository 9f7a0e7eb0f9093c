// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MarginEngine} from "../../contracts/MarginEngine.sol";
import {OptionsEngine} from "../../contracts/OptionsEngine.sol";
import {RiskArrayBook} from "../../contracts/RiskArrayBook.sol";
import {RiskArrays} from "../../contracts/RiskArrays.sol";
import {DevOracle} from "../../contracts/oracles/DevOracle.sol";
import {TestToken} from "../../contracts/test/TestToken.sol";
import {IPriceOracle} from "../../contracts/interfaces/IPriceOracle.sol";
import {IOptionsModule} from "../../contracts/interfaces/IOptionsModule.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title OptionsHandler
/// @notice Drives a MarginEngine with an OptionsEngine for forge's invariant fuzzer (docs/spec.md
///         §5.13): three actors (real keys) trade a call and a put on the perp's oracle at premiums
///         around the mark, withdraw part of their free collateral, the price and marks move, time
///         passes, an actor liquidates part or all of an
///         option position of another below maintenance margin, at expiry the book settles and anyone
///         settles positions. Seeds become full-precision sizes, premiums, prices and vols.
///         After each action: C = Σ collateral·WAD + (fees + insurance − bad debt)·WAD + dust +
///         Σ size·payoff over open positions in settled series never changes; Σ size = 0 per series
///         until the book settles it; openInterest and shortInterest equal Σ max(±size, 0) over the
///         positions; the dust stays below WAD and is 0 once every position is settled; the insurance fund
///         never shrinks (it pays for no option operation). A checkpoint (options and engine in one
///         transaction) is accepted in every state reached.
contract OptionsHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant N_ACTORS = 3;
    uint256 internal constant N_OPTIONS = 2;
    uint256 internal constant PREMIUM_BAND = WAD / 50;

    MarginEngine public immutable engine;
    OptionsEngine public immutable options;
    RiskArrayBook public immutable book;
    DevOracle public immutable oracle;
    TestToken public immutable token;
    address[N_ACTORS] public actors;
    mapping(address => uint256) internal keyOf;
    mapping(address => uint256) internal nonces;
    uint256[N_OPTIONS] public optionIds;
    uint256 public perpId;

    /// @notice C after the last action (WAD²).
    int256 public conserved;
    uint256 public violations;
    string public firstViolation;
    /// @notice The insurance fund after the last action (WAD).
    uint256 public insurance;
    /// @notice Calls and accepted calls per action: trade, movePrice, warp, settle, liquidate, withdrawFree, checkpoint.
    uint256[7] public calls;
    uint256[7] public accepted;

    constructor() {
        token = new TestToken("Test USD", "tUSD", 6);
        engine = new MarginEngine(token, address(this));
        oracle = new DevOracle(address(this), 2718.281828459045235360e18);
        engine.addMarket(IPriceOracle(address(oracle)), "ETH-PERP", MarginEngine.MarketParams({
            imfWad: WAD / 10, mmfWad: WAD / 20, takerFeeWad: 0, makerFeeWad: 0, liquidationPenaltyWad: WAD / 50,
            insuranceShareWad: WAD / 2, maxOpenInterest: 10 ** 6 * WAD, maxPriceAgeS: 3600,
            priceBandWad: WAD / 20, maxFundingRateWad: 10 ** 12
        }));
        book = new RiskArrayBook(address(this), 1.333333333333333333e18);
        book.setKeeper(address(this), true);
        book.addUnderlying(IPriceOracle(address(oracle)), 0.159154943091895335e18, WAD / 4, WAD / 100, 3600, WAD / 10, 3 * WAD);
        perpId = book.addSeries(0, RiskArrays.InstrumentKind.Perp, 0, 0);
        optionIds[0] = book.addSeries(0, RiskArrays.InstrumentKind.Call, 2901.234567890123456789e18, block.timestamp + 3 days + 1234);
        optionIds[1] = book.addSeries(0, RiskArrays.InstrumentKind.Put, 2503.141592653589793238e18, block.timestamp + 3 days + 1234);
        options = new OptionsEngine(engine, book, PREMIUM_BAND, address(this));
        options.setOperator(address(this), true);
        options.mapPerp(0, perpId);
        engine.setOptionsModule(IOptionsModule(address(options)));
        engine.setKeeper(address(options), true); // the module's checkpoint() takes the engine's
        _markAll(0.612345678901234567e18);
        for (uint256 i = 0; i < N_ACTORS; ++i) {
            uint256 key = uint256(keccak256(abi.encode("pymargin.forge.options.actor", i)));
            actors[i] = vm.addr(key);
            keyOf[actors[i]] = key;
            token.mint(actors[i], 10 ** 15);
            vm.prank(actors[i]);
            token.approve(address(engine), type(uint256).max);
            vm.prank(actors[i]);
            engine.deposit(0, 7_345_678_901 + 1_234_567_891 * i);
        }
        conserved = conservedValue();
        insurance = engine.insuranceFund();
    }

    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](7);
        s[0] = this.trade.selector;
        s[1] = this.movePrice.selector;
        s[2] = this.warp.selector;
        s[3] = this.settle.selector;
        s[4] = this.liquidate.selector;
        s[5] = this.withdrawFree.selector;
        s[6] = this.checkpoint.selector;
    }

    // ------------------------------------------------------------------ actions

    /// @notice An option fill between two actors at the mark value ± up to 1.25 bands.
    function trade(uint256 takerSeed, uint256 makerSeed, uint256 seriesSeed, uint256 sizeSeed, uint256 premiumSeed) external {
        ++calls[0];
        address taker = actors[takerSeed % N_ACTORS];
        address maker = actors[(takerSeed % N_ACTORS + 1 + makerSeed % (N_ACTORS - 1)) % N_ACTORS];
        uint256 id = optionIds[seriesSeed % N_OPTIONS];
        RiskArrayBook.Series memory s = book.series(id);
        if (s.settled || block.timestamp >= s.expiry) return;
        uint256 value = options.markValue(s);
        uint256 band = PREMIUM_BAND * s.priceWad / WAD;
        uint256 offset = premiumSeed % (band * 5 / 2 + 1);
        uint256 premium = value + offset > band * 5 / 4 ? value + offset - band * 5 / 4 : 0;
        int256 size = int256(10 ** 15 + sizeSeed % (5 * WAD));
        if ((sizeSeed >> 128) % 2 == 1) size = -size;
        (MarginEngine.Order memory t, bytes memory ts) = _signed(taker, id, size, premium);
        (MarginEngine.Order memory m, bytes memory ms) = _signed(maker, id, -size, premium);
        try options.trade(t, ts, m, ms, size, premium) {
            ++accepted[0];
        } catch {}
        _check("trade");
    }

    /// @notice The oracle moves by up to ±10 % and every unexpired series is marked at a new vol.
    function movePrice(uint256 moveSeed, uint256 volSeed) external {
        ++calls[1];
        (int256 price,) = oracle.latestPrice();
        price = price * int256(0.9e18 + moveSeed % 0.2e18) / int256(WAD);
        oracle.setPrice(price, block.timestamp);
        _markAll(WAD / 5 + volSeed % (9 * WAD / 5));
        ++accepted[1];
        _check("movePrice");
    }

    /// @notice Time passes (up to 20 hours); the price and marks are refreshed.
    function warp(uint256 seed) external {
        ++calls[2];
        vm.warp(block.timestamp + 1 + seed % 72_000);
        (int256 price,) = oracle.latestPrice();
        oracle.setPrice(price, block.timestamp);
        _markAll(0.612345678901234567e18);
        ++accepted[2];
        _check("warp");
    }

    /// @notice At or after expiry: the book settles the series (if not yet) and an actor's position settles.
    function settle(uint256 seriesSeed, uint256 actorSeed) external {
        ++calls[3];
        uint256 id = optionIds[seriesSeed % N_OPTIONS];
        if (!book.series(id).settled) {
            try book.settle(id) {} catch {}
        }
        try options.settle(actors[actorSeed % N_ACTORS], id) {
            ++accepted[3];
        } catch {}
        _check("settle");
    }

    /// @notice The module's checkpoint (with the engine's); a revert is a violation. The options checkpoint
    ///         is bound to the engine's new one and to this block.
    function checkpoint() external {
        ++calls[6];
        try options.checkpoint() returns (uint256 id) {
            ++accepted[6];
            uint256 engineId = engine.checkpointCount();
            if (options.optionsCheckpointOf(engineId) != id || options.optionsCheckpointBlock(id) != block.number) {
                _violate("checkpoint: not bound to the engine's checkpoint and block");
            }
        } catch {
            _violate("checkpoint reverted");
        }
        _check("checkpoint");
    }

    /// @notice An actor liquidates a part (1..100 %, full precision) or all of another actor's option
    ///         position, when the engine says that actor is liquidatable.
    function liquidate(uint256 liquidatorSeed, uint256 victimSeed, uint256 seriesSeed, uint256 partSeed) external {
        ++calls[4];
        address liquidator = actors[liquidatorSeed % N_ACTORS];
        address victim = actors[(liquidatorSeed % N_ACTORS + 1 + victimSeed % (N_ACTORS - 1)) % N_ACTORS];
        uint256 id = optionIds[seriesSeed % N_OPTIONS];
        int256 position = options.optionSize(victim, id);
        bool eligible;
        try engine.isLiquidatable(victim, 0) returns (bool yes) {
            eligible = yes;
        } catch {}
        if (position == 0 || !eligible) return;
        int256 part = partSeed % 4 == 0 ? position : position * int256(1 + partSeed % (100 * WAD)) / int256(100 * WAD);
        if (part == 0) part = position;
        vm.prank(liquidator);
        try options.liquidate(victim, id, part) {
            ++accepted[4];
        } catch {}
        _check("liquidate");
    }

    /// @notice An actor withdraws up to all of its free collateral (equity − initial margin), so that price
    ///         moves can take it below maintenance; C falls by exactly the amount withdrawn.
    function withdrawFree(uint256 actorSeed, uint256 fractionSeed) external {
        ++calls[5];
        address actor = actors[actorSeed % N_ACTORS];
        int256 free;
        try engine.freeCollateral(actor, 0) returns (int256 f) {
            free = f;
        } catch {}
        uint256 tokens = free > 0 ? uint256(free) / 1e12 * (1 + fractionSeed % 100) / 100 : 0;
        if (tokens == 0) return;
        vm.prank(actor);
        try engine.withdraw(0, tokens) {
            ++accepted[5];
            conserved -= int256(tokens * 1e12 * WAD);
        } catch {}
        _check("withdrawFree");
    }

    // ------------------------------------------------------------------ checks

    /// @notice C (WAD²), read from the engine, the module and the book.
    function conservedValue() public view returns (int256 total) {
        (, int256 collateralSum,) = engine.aggregates();
        total = (collateralSum + int256(engine.accruedFees() + engine.insuranceFund()) - int256(engine.badDebt())) * int256(WAD);
        total += int256(options.settlementDustWad2());
        for (uint256 k; k < N_OPTIONS; ++k) {
            RiskArrayBook.Series memory s = book.series(optionIds[k]);
            if (!s.settled) continue;
            for (uint256 i; i < N_ACTORS; ++i) {
                total += options.optionSize(actors[i], optionIds[k]) * int256(s.payoffWad);
            }
        }
    }

    function _check(string memory op) internal {
        int256 now_ = conservedValue();
        if (now_ != conserved) _violate(string.concat(op, ": conserved value ", vm.toString(conserved), " -> ", vm.toString(now_)));
        conserved = now_;
        uint256 fund = engine.insuranceFund();
        if (fund < insurance) _violate(string.concat(op, ": the insurance fund shrank"));
        insurance = fund;
        bool allSettled = true;
        for (uint256 k; k < N_OPTIONS; ++k) {
            int256 sum;
            uint256 longSum;
            uint256 shortSum;
            for (uint256 i; i < N_ACTORS; ++i) {
                int256 size = options.optionSize(actors[i], optionIds[k]);
                sum += size;
                if (size > 0) longSum += uint256(size);
                if (size < 0) shortSum += uint256(-size);
                if (size != 0) allSettled = false;
            }
            if (options.openInterest(optionIds[k]) != longSum || options.shortInterest(optionIds[k]) != shortSum) {
                _violate(string.concat(op, ": aggregates differ from the positions in series ", vm.toString(optionIds[k])));
            }
            // positions settle one by one once the book has settled the series: the ledger is zero-sum before
            bool settling = book.series(optionIds[k]).settled;
            if (sum != 0 && !settling) _violate(string.concat(op, ": sizes do not sum to 0 in series ", vm.toString(optionIds[k])));
        }
        uint256 dust = options.settlementDustWad2();
        if (dust >= WAD || (allSettled && dust != 0)) _violate(string.concat(op, ": dust ", vm.toString(dust)));
    }

    function _violate(string memory what) internal {
        if (violations++ == 0) firstViolation = what;
    }

    function _markAll(uint256 vol) internal {
        try book.updateMark(perpId, vol) {} catch {}
        for (uint256 k; k < N_OPTIONS; ++k) {
            try book.updateMark(optionIds[k], vol) {} catch {}
        }
    }

    function _signed(address owner, uint256 id, int256 size, uint256 premium)
        internal
        returns (MarginEngine.Order memory order, bytes memory sig)
    {
        order = MarginEngine.Order({
            owner: owner, sub: 0, marketId: id, sizeWad: size, limitPriceWad: premium, maxFeeWad: 0,
            nonce: nonces[owner]++, expiry: block.timestamp + 3600
        });
        (uint8 v, bytes32 r, bytes32 s_) = vm.sign(keyOf[owner], options.orderDigest(order));
        sig = abi.encodePacked(r, s_, v);
    }
}
