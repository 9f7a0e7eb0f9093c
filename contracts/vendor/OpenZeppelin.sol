// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// OpenZeppelin Contracts 5.7.0, pinned in package.json and installed by `npm ci` into
// node_modules/ at the repository root. The compiler resolves these paths from the repository
// root (its base path), so the margin contracts import OpenZeppelin through this one file.
import {Ownable} from "../../node_modules/@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "../../node_modules/@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "../../node_modules/@openzeppelin/contracts/utils/Pausable.sol";
import {EnumerableSet} from "../../node_modules/@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IERC20} from "../../node_modules/@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "../../node_modules/@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20} from "../../node_modules/@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {SafeERC20} from "../../node_modules/@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
