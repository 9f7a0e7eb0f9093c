// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA, IERC1271} from "../vendor/OpenZeppelin.sol";

/// @title TestWallet1271
/// @notice A minimal contract wallet for tests: ERC-1271 accepts a hash signed (ECDSA, 65 bytes) by
///         its `signer`; `execute` lets the signer make calls from the wallet (approve, deposit, ...).
contract TestWallet1271 is IERC1271 {
    address public immutable signer;

    error NotSigner(address account);
    error CallFailed(bytes returnData);

    constructor(address signer_) {
        signer = signer_;
    }

    /// @notice ERC-1271: the magic value 0x1626ba7e when `signature` is `signer`'s over `hash`, else 0xffffffff.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == signer ? this.isValidSignature.selector : bytes4(0xffffffff);
    }

    /// @notice Signer only: call `target` with `data` from the wallet.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != signer) revert NotSigner(msg.sender);
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) revert CallFailed(ret);
        return ret;
    }
}
