"""The calibrated parameters go on-chain as they are: deploy the engine from `risk calibrate`'s deploy config."""

from __future__ import annotations

import dataclasses

import pytest

from pymargin.chain import tx
from pymargin.chain.deploy import Deployer
from pymargin.chain.full_set import deploy_venue, parse_config
from pymargin.errors import UserError
from pymargin.model import MAX_MARKETS
from pymargin.risk import calibration, data
from pymargin.risk.margin_call import to_wad


def test_deploy_config_puts_the_calibrated_params_on_chain(chain, artifacts, tmp_path):
    series = [data.load_market("btc"), data.load_market("eth")]
    cals = [calibration.calibrate_market(s, i, daily_funding=data.load_funding_daily(s.name)[1]) for i, s in enumerate(series)]
    prices = {s.name: to_wad(float(s.close[-1])) for s in series}
    config = calibration.deploy_config(cals, prices, chain.chain_id)
    venue = deploy_venue(chain, parse_config(config, tmp_path / "deploy.json"), Deployer(chain, tx.node_signer(chain), tmp_path))
    engine = venue.engine.engine
    assert engine.call("marketCount") == 2
    for i, cal in enumerate(cals):
        on_chain = engine.call("marketParams", i)
        assert tuple(on_chain) == tuple(getattr(cal.params, f) for f in calibration.RISK_PARAM_FIELDS)
        price, _, imf, mmf = engine.call("marketView", i)
        assert (price, imf, mmf) == (prices[cal.params.name], cal.params.imf_wad, cal.params.mmf_wad)


def test_deploy_config_refuses_more_markets_than_the_engine_holds():
    s = data.load_market("btc")
    cal = calibration.calibrate_market(s, 0, daily_funding=data.load_funding_daily(s.name)[1])
    cals = [dataclasses.replace(cal, params=dataclasses.replace(cal.params, market_id=i, name=f"M{i}"))
            for i in range(MAX_MARKETS + 1)]
    with pytest.raises(UserError, match=f"5 markets: the engine holds at most {MAX_MARKETS}"):
        calibration.deploy_config(cals, {f"M{i}": 10**18 for i in range(MAX_MARKETS + 1)})
