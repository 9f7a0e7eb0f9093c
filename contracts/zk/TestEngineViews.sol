// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Test stand-in for the margin engine's views the SolvencyRegistry reads (market views,
/// reserves), settable by anyone. Registry unit tests use it; the end-to-end tests use MarginEngine.
contract TestEngineViews {
    struct View {
        uint256 priceWad;
        int256 fundingIndexWad;
        uint256 imfWad;
        uint256 mmfWad;
    }

    View[] private _views;
    uint256 public reservesWad;

    function setMarkets(View[] calldata views) external {
        delete _views;
        for (uint256 i = 0; i < views.length; i++) {
            _views.push(views[i]);
        }
    }

    function setReserves(uint256 reservesWad_) external {
        reservesWad = reservesWad_;
    }

    function marketCount() external view returns (uint256) {
        return _views.length;
    }

    function marketView(uint256 marketId) external view returns (uint256, int256, uint256, uint256) {
        View storage v = _views[marketId];
        return (v.priceWad, v.fundingIndexWad, v.imfWad, v.mmfWad);
    }
}
