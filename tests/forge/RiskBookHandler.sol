// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {RiskArrayBook} from "../../contracts/RiskArrayBook.sol";
import {RiskArrays} from "../../contracts/RiskArrays.sol";
import {DevOracle} from "../../contracts/oracles/DevOracle.sol";
import {IPriceOracle} from "../../contracts/interfaces/IPriceOracle.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title RiskBookHandler
/// @notice Drives one RiskArrayBook for forge's invariant fuzzer: two underlyings on DevOracles,
///         per underlying two expiries × three strikes × (call, put), and a ledger of three
///         actors' positions in them (trades are zero-sum). Actions: trade, movePrice, warp,
///         settle; every settle pays each holder size × payoff (WAD² quote, exact) from the ledger.
///         After each action it checks the settlement properties of docs/spec.md §4.2 and records
///         the first violation (nothing here reverts on one: a revert would roll the evidence back):
///         - one price per (underlying, expiry): settlementPrice never changes once fixed, every
///           settled option's payoff is max(±(S − K), 0) at it, and call − put = S − K for the
///           call and put of one strike (a long call and a short put settle as a forward);
///         - a payoff never changes once settled;
///         - value is conserved: what the longs receive the shorts pay (Σ payouts = 0).
contract RiskBookHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    uint256 internal constant WAD = 1e18;
    uint256 internal constant ACTORS = 3;
    uint256 internal constant MAX_AGE_S = 1 days;

    RiskArrayBook public immutable book;
    DevOracle[2] internal _oracles;
    uint256[2] internal _basePrice = [uint256(3_141_592_653_589_793_238_462), 61_803_398_874_989_484_820_458];
    uint256 public seriesCount;

    mapping(uint256 actor => mapping(uint256 seriesId => int256)) public position;
    int256[ACTORS] public paidWad2; // Σ size·payoff received (WAD² quote)
    mapping(uint256 seriesId => uint256) internal _payoffSeen;
    mapping(uint256 seriesId => uint256) internal _settledAt;
    mapping(uint256 underlyingId => mapping(uint256 expiry => uint256)) internal _priceSeen;
    uint256[] internal _settledPairs; // even series id of every call/put pair with a settled leg

    uint256[4] public calls;
    uint256[4] public accepted;
    uint256 public legsSettledApart; // a put settled in a later block than its call (or the reverse) at a moved oracle price
    uint256 public violations;
    string public firstViolation;

    constructor() {
        book = new RiskArrayBook(address(this), 1_250_000_000_000_000_001);
        uint256[2] memory expiries = [block.timestamp + 1 days + 17, block.timestamp + 3 days + 4_321];
        for (uint256 u = 0; u < 2; ++u) {
            _oracles[u] = new DevOracle(address(this), int256(_basePrice[u]));
            book.addUnderlying(IPriceOracle(address(_oracles[u])), 159_154_943_091_895_335, WAD / 4, WAD / 100, MAX_AGE_S, WAD / 10, 3 * WAD);
            for (uint256 e = 0; e < 2; ++e) {
                for (uint256 k = 0; k < 3; ++k) {
                    uint256 strike = _basePrice[u] * (WAD * 4 / 5 + k * 141_421_356_237_309_505) / WAD;
                    book.addSeries(u, RiskArrays.InstrumentKind.Call, strike, expiries[e]); // even id: call
                    book.addSeries(u, RiskArrays.InstrumentKind.Put, strike, expiries[e]); // odd id: its put
                    seriesCount += 2;
                }
            }
        }
    }

    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](4);
        s[0] = this.trade.selector;
        s[1] = this.movePrice.selector;
        s[2] = this.warp.selector;
        s[3] = this.settle.selector;
    }

    // ------------------------------------------------------------------ actions

    /// @notice Actor a buys 0 < size < 100 units (full precision) of a series from actor b.
    function trade(uint256 a, uint256 b, uint256 seriesSeed, uint256 sizeSeed) external {
        ++calls[0];
        uint256 sid = seriesSeed % seriesCount;
        if (_settledAt[sid] != 0) return;
        uint256 buyer = a % ACTORS;
        uint256 seller = b % ACTORS == buyer ? (buyer + 1) % ACTORS : b % ACTORS;
        int256 size = int256(1 + sizeSeed % (100 * WAD));
        position[buyer][sid] += size;
        position[seller][sid] -= size;
        ++accepted[0];
        _check();
    }

    /// @notice The oracle of underlying u posts a price in [0.5, 1.5) of its start, now.
    function movePrice(uint256 u, uint256 priceSeed) external {
        ++calls[1];
        u %= 2;
        _oracles[u].setPrice(int256(_basePrice[u] / 2 + priceSeed % _basePrice[u]), block.timestamp);
        ++accepted[1];
        _check();
    }

    /// @notice Time moves 1 s to 1 day.
    function warp(uint256 seconds_) external {
        ++calls[2];
        vm.warp(block.timestamp + 1 + seconds_ % 1 days);
        ++accepted[2];
        _check();
    }

    /// @notice Anyone settles a series where the contract accepts it, and the ledger pays its holders.
    function settle(uint256 seriesSeed) external {
        ++calls[3];
        uint256 sid = seriesSeed % seriesCount;
        RiskArrayBook.Series memory s = book.series(sid);
        if (_settledAt[sid] != 0 || block.timestamp < s.expiry) return;
        if (book.settlementPrice(s.underlyingId, s.expiry) == 0) {
            (int256 price, uint256 updatedAt) = _oracles[s.underlyingId].latestPrice();
            if (updatedAt < s.expiry || block.timestamp - updatedAt > MAX_AGE_S || price <= 0) return;
        }
        book.settle(sid);
        uint256 payoff = book.series(sid).payoffWad;
        for (uint256 a = 0; a < ACTORS; ++a) {
            paidWad2[a] += position[a][sid] * int256(payoff);
        }
        _payoffSeen[sid] = payoff;
        _settledAt[sid] = block.timestamp;
        uint256 other = sid ^ 1; // the call's put, or the put's call
        if (_settledAt[other] == 0) _settledPairs.push(sid & ~uint256(1));
        else if (_settledAt[other] != block.timestamp) {
            (int256 now_,) = _oracles[s.underlyingId].latestPrice();
            if (uint256(now_) != book.settlementPrice(s.underlyingId, s.expiry)) ++legsSettledApart;
        }
        ++accepted[3];
        _check();
    }

    // ------------------------------------------------------------------ properties

    function _check() internal {
        int256 paid;
        for (uint256 a = 0; a < ACTORS; ++a) {
            paid += paidWad2[a];
        }
        if (paid != 0) _violate("payouts do not sum to 0");
        for (uint256 i = 0; i < _settledPairs.length; ++i) {
            uint256 sid = _settledPairs[i];
            RiskArrayBook.Series memory call = book.series(sid);
            RiskArrayBook.Series memory put = book.series(sid + 1);
            uint256 price = book.settlementPrice(call.underlyingId, call.expiry);
            uint256 seen = _priceSeen[call.underlyingId][call.expiry];
            if (seen != 0 && price != seen) _violate(string.concat("settlement price changed, series ", vm.toString(sid)));
            if (price != 0) _priceSeen[call.underlyingId][call.expiry] = price;
            _checkLeg(sid, call, price);
            _checkLeg(sid + 1, put, price);
            if (call.settled && put.settled && int256(call.payoffWad) - int256(put.payoffWad) != int256(price) - int256(call.strikeWad)) {
                _violate(string.concat("call - put != S - K, series ", vm.toString(sid)));
            }
        }
    }

    function _checkLeg(uint256 sid, RiskArrayBook.Series memory s, uint256 price) internal {
        if (!s.settled) return;
        if (price == 0) _violate(string.concat("settled without a settlement price, series ", vm.toString(sid)));
        uint256 k = s.strikeWad;
        uint256 want = s.kind == RiskArrays.InstrumentKind.Call ? (price > k ? price - k : 0) : (k > price ? k - price : 0);
        if (s.payoffWad != want) _violate(string.concat("payoff is not max(+-(S - K), 0), series ", vm.toString(sid)));
        if (s.payoffWad != _payoffSeen[sid]) _violate(string.concat("payoff changed after settlement, series ", vm.toString(sid)));
    }

    function _violate(string memory what) internal {
        if (violations++ == 0) firstViolation = what;
    }
}
